"""Application factory, and `python app.py` to set up and serve on a fresh machine."""
from __future__ import annotations

import logging
import os

from flask import Flask

import cli
import inputs
import ops
from config import load_config
from extensions import babel, compress, csrf, limiter, login_manager, migrate
from i18n import remember_language, select_locale
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


def configure_templates(app: Flask) -> None:
    from views import static_files
    from views.template_helpers import register_template_helpers

    register_template_helpers(app)
    static_files.init_app(app)


def main() -> None:
    """Create or upgrade the schema, load demo data into an empty database, then serve."""
    logging.basicConfig(level=logging.INFO)
    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        import demo

        if app.config["APP_ENV"] == "production":
            print("APP_ENV=production: no demo data; create an admin with `flask users create-admin`.")
        elif demo.database_is_empty():
            print("Loading demo data (sample names, for trying the service)...")
            print(demo.load())
            print(demo.describe_logins())
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    # Development convenience: the jobs run inside this one process unless turned off.
    if app.config["RUN_SCHEDULER_IN_PROCESS"]:
        from scheduler.jobs import start_in_process

        start_in_process(app)
    app.run(host=host, port=port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
