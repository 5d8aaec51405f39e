"""Error pages that speak the reader's language and never leak a stack trace."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from models import db


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register(app: Flask) -> None:
    def render(code: int, template: str, **context):
        if _wants_json():
            return jsonify(error={"status": code, "message": context.get("message", "")}), code
        return render_template(template, **context), code

    @app.errorhandler(400)
    def bad_request(error):
        return render(400, "errors/400.html", message=getattr(error, "description", ""))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render(400, "errors/400.html", message=error.description, csrf=True)

    @app.errorhandler(403)
    def forbidden(error):
        return render(403, "errors/403.html")

    @app.errorhandler(404)
    def not_found(error):
        return render(404, "errors/404.html")

    @app.errorhandler(429)
    def too_many(error):
        return render(429, "errors/429.html")

    @app.errorhandler(500)
    def server_error(error):
        # The failed request may have left the session mid-transaction.
        db.session.rollback()
        return render(500, "errors/500.html")
