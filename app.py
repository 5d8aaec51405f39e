"""Application factory, and `python app.py` to set up and serve on a fresh machine."""

from __future__ import annotations

import logging
import os
import textwrap

from flask import Flask

import cli
import inputs
import ops
from config import load_config
from extensions import babel, compress, csrf, limiter, login_manager, migrate
from i18n import install_template_gettext, remember_language, select_locale
from models import db


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if config:
        app.config.update(config)

    ops.init_app(app)
    inputs.init_app(app)  # the `id` URL converter must exist before the blueprints' rules
    configure_extensions(app)
    configure_blueprints(app)
    configure_templates(app)
    cli.init_app(app)
    return app


def configure_extensions(app: Flask) -> None:
    db.init_app(app)
    from services import search

    search.install()  # community search keys follow every ORM save
    # Registered after db.init_app, so it runs first: a connection cut by a database restart
    # must not fail the request in Flask-SQLAlchemy's session.remove().
    app.teardown_appcontext(ops.release_session)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(__file__), "migrations"),
        render_as_batch=True,  # SQLite can only ALTER by copying the table
        compare_type=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    install_template_gettext(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    from services import sessions

    sessions.init_app(app)  # the user loader: live, unexpired logins of active users only

    app.after_request(remember_language)
    # Registered last, so it runs first among the after-request hooks: the others see the final body.
    compress.init_app(app)
    from feeds.http import SessionInterface

    app.session_interface = SessionInterface()


def render_migration_item(type_, obj, autogen_context):
    """Write our column types as plain SQLAlchemy types, so migrations never import app code."""
    from models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_blueprints(app: Flask) -> None:
    from api import bp as api_bp
    from feeds.views import bp as feeds_bp
    from views import register_blueprints

    register_blueprints(app)
    from feeds import probes
    from views import page_cache

    # The public pages' data version goes through the feeds' probe pool (views never import feeds).
    page_cache.install(probes.unless_unchanged, probes.ProbeStatement)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(api_bp)
    # The public API's reads show what the public pages show, to anyone: the same per-process cache,
    # data version, ETag/304 and `public, max-age` (the API may not import views; the app wires it).
    for endpoint in PUBLIC_API_READS:
        app.view_functions[endpoint] = page_cache.cached_page(whoever_asks=True)(app.view_functions[endpoint])


PUBLIC_API_READS = ("api.programmes", "api.occurrences", "api.occurrence", "api.venues", "api.communities")


def configure_templates(app: Flask) -> None:
    from views import static_files
    from views.template_helpers import register_template_helpers

    register_template_helpers(app)
    static_files.init_app(app)


def console_language() -> str:
    """The console's language for `python app.py`, from the POSIX locale variables; English by default."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


def boxed(lines: list[str]) -> str:
    """A frame around the lines; Chinese characters take two columns in a terminal."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    inner = max(width(line) for line in lines)
    rows = ["+" + "-" * (inner + 2) + "+"]
    rows += [f"| {line}{' ' * (inner - width(line))} |" for line in lines]
    return "\n".join(rows + [rows[0]])


def _schema_revision() -> str | None:
    import sqlalchemy as sa

    from models import db

    try:
        return db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.DBAPIError:
        db.session.rollback()
        return None


def main() -> None:
    """Create or upgrade the schema, load demo data into an empty database, then serve.

    The output is meant to fit one terminal screen and to end with what a newcomer needs: the
    address and the demo logins. Background job results and unsent emails are logged at INFO only
    when LOG_LEVEL is set (they are hundreds of lines on a first start).
    """
    from flask_babel import force_locale
    from flask_babel import gettext as _
    from werkzeug.serving import make_server

    logging.basicConfig(level=logging.INFO)
    app = create_app()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    verbose = bool(os.environ.get("LOG_LEVEL"))
    with app.app_context(), force_locale(console_language()):
        from flask_migrate import upgrade

        import demo

        before = _schema_revision()
        if not verbose:
            logging.disable(logging.INFO)  # Alembic's one line per migration
        try:
            upgrade()
        finally:
            logging.disable(logging.NOTSET)
        after = _schema_revision()
        database = app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]  # no password on the screen
        if before == after:
            print(_("Database %(database)s: schema up to date (%(revision)s).", database=database, revision=after))
        else:
            print(
                _(
                    "Database %(database)s: schema upgraded from %(before)s to %(after)s.",
                    database=database,
                    before=before or _("empty"),
                    after=after,
                )
            )
        logins = []
        if app.config["APP_ENV"] == "production":
            print(_("APP_ENV=production: no demo data; create an admin with `flask users create-admin`."))
        else:
            if demo.database_is_empty():
                print(_("Loading demo data (sample names, for trying the service)..."))
                print(textwrap.fill(str(demo.load()), 79))  # one screen, even on an 80-column terminal
            logins = demo_logins()
        if not app.config.get("SMTP_URL"):
            print(
                _(
                    "Email: SMTP_URL is not set, so no email is sent; each one is logged instead "
                    "(LOG_LEVEL=DEBUG shows them)."
                )
            )
        # Development convenience: the jobs run inside this one process unless turned off.
        if app.config["RUN_SCHEDULER_IN_PROCESS"]:
            from scheduler.jobs import start_in_process

            start_in_process(app)
            if not verbose:
                logging.getLogger("scheduler").setLevel(logging.WARNING)
            print(
                _(
                    "Background jobs (shift generation, reminders) run in this process "
                    "(RUN_SCHEDULER_IN_PROCESS=0 turns them off)."
                )
            )
        server = make_server(host, port, app, threaded=True)
        url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{server.server_port}/"
        lines = [_("SIP schedules is running at %(url)s", url=url), ""]
        if logins:
            lines.append(_("Demo logins (the password for all: %(password)s):", password=demo.DEMO_PASSWORD))
            lines += [f"  {role:<12} {email}" for role, email in logins]
            lines.append("")
        lines.append(_("Development server; for production see docs/OPERATIONS.md. Ctrl+C stops it."))
        print(boxed(lines), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def demo_logins() -> list[tuple[str, str]]:
    """The demo accounts that exist in this database (none once an operator removed them)."""
    import sqlalchemy as sa

    import demo
    from models import User, db

    emails = [email for _, email in demo.DEMO_LOGINS]
    present = set(db.session.scalars(sa.select(User.email).where(User.email.in_(emails))))
    return [(role.value, email) for role, email in demo.DEMO_LOGINS if email in present]


if __name__ == "__main__":
    main()
