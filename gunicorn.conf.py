"""gunicorn settings, read from the working directory: `gunicorn` alone serves wsgi:app.

Every value can be overridden from the environment (WEB_CONCURRENCY, GUNICORN_BIND, ...) or the
command line (`gunicorn -w 8 -b 0.0.0.0:8000`).
"""

import os

wsgi_app = "wsgi:app"
# Behind a reverse proxy on the same host; a container or a separate proxy host sets 0.0.0.0:8000.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Threads let a worker keep polling calendar clients' connections alive while another request runs.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never becomes an outage. Not too often: a new worker
# costs about 1.3 s of CPU to import and build the app, then renders its page and feed caches anew
# (seconds more); at 2,000 requests each of 4 workers restarted every 80 s at 100 req/s, a sizeable
# share of the machine. 20,000 is still every ~15 minutes per worker at that rate.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# The application logs one JSON line per request itself (with feed tokens masked); gunicorn's
# access log would print the raw path, token included.
accesslog = None
errorlog = "-"
# gunicorn's runtime control socket sits at one path per user: two servers on a host would clash.
control_socket_disable = True


def on_starting(server):
    """Before any worker starts: refuse a production setup whose workers would not share their limits."""
    import sys

    from config import ConfigError, check_shared_state, load_config

    try:
        check_shared_state(load_config(os.path.join(os.path.dirname(__file__), "instance")), server.cfg.workers)
    except ConfigError as error:
        server.log.error("refusing to start: %s", error)
        sys.exit(3)


loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ops.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    # gunicorn merges this over its defaults key by key: every logger must name handlers defined here.
    # The root logger gets its handler from the application (ops.configure_logging), once.
    "root": {"level": loglevel.upper(), "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "level": loglevel.upper(), "propagate": False},
    },
}
