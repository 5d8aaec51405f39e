"""HTTP plumbing for responses whose body ignores cookies (the public feeds).

Flask adds `Vary: Cookie` whenever a request's session was looked at, and Flask-Login looks at it
on every request (its remember-me check). A public feed's body depends on the URL alone, so that
header only stops shared caches (a CDN, a company proxy) from serving one copy to every client.
"""

from __future__ import annotations

from flask import g
from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        # Only when nothing about the session went out: a Set-Cookie must keep its Vary.
        if g.get("body_ignores_cookies") and not session.modified and "Set-Cookie" not in response.headers:
            response.vary.discard("cookie")  # lower case: werkzeug compares it as given
        # A cached public page (views/page_cache.py) that sets a cookie after all (?lang= remembered)
        # must not be stored by a shared cache with it.
        if g.get("shared_page") and "Set-Cookie" in response.headers:
            response.headers["Cache-Control"] = "private, no-cache"
