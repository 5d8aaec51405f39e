"""Language selection and bilingual helpers shared by pages, feeds and the API."""

from __future__ import annotations

from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import get_locale, get_translations

LANG_COOKIE = "lang"
SUPPORTED = ("zh_CN", "en")


def normalise_language(value: str | None) -> str | None:
    """Map what people type (`en`, `en-US`, `zh`, `zh-CN`, `zh_CN`) to a supported locale."""
    if not value:
        return None
    value = value.strip().replace("-", "_").lower()
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return "zh_CN"
    return None


def select_locale() -> str:
    """?lang= first, then the remembered cookie, then Accept-Language, then Chinese."""
    if not has_request_context():
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    chosen = normalise_language(request.args.get("lang"))
    if chosen:
        return chosen
    remembered = normalise_language(request.cookies.get(LANG_COOKIE))
    if remembered:
        return remembered
    best = request.accept_languages.best_match(["zh_CN", "zh", "zh-CN", "en"])
    return normalise_language(best) or "zh_CN"


def current_language() -> str:
    """'en' or 'zh_CN': the request's language, or the one set by `flask_babel.force_locale`.

    Outside a request (scheduler jobs, the CLI) only `force_locale` chooses; the default is Chinese.
    """
    if not has_app_context():
        return "zh_CN"
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


def pick(zh: str | None, en: str | None, lang: str | None = None) -> str:
    """The text in `lang` (default: the reader's language), falling back to the other one."""
    if (lang or current_language()) == "en":
        return en or zh or ""
    return zh or en or ""


def localized(obj, field: str, lang: str | None = None) -> str:
    """The one bilingual-field accessor: `obj.<field>_en` or `obj.<field>_zh`, see `pick`.

    Works on models and on result rows alike (`localized(row, "title", "en")`).
    """
    return pick(getattr(obj, f"{field}_zh", None), getattr(obj, f"{field}_en", None), lang)


def remember_language(response):
    """After-request hook: an explicit ?lang= on a page is remembered for a year.

    Feeds and the API are left alone: a Set-Cookie would make their responses uncacheable.
    """
    if has_request_context() and not request.path.startswith(("/feeds/", "/api/", "/static/")):
        chosen = normalise_language(request.args.get("lang"))
        if chosen and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            )
    return response


def _translations():
    """The translations of the current locale, looked up once per locale per request.

    Flask-Babel resolves the context, domain and locale (and formats the locale's name) on every
    call; a page listing 30 shifts makes over a hundred calls, and that lookup was half the cost of
    rendering it. The memo sits beside Flask-Babel's own per-context state and is keyed by the
    locale object, so `force_locale` (a message rendered in its recipient's language) is obeyed.
    """
    context = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(context, "babel_locale", None)
    if locale is None:  # not chosen yet in this context: let Flask-Babel choose it
        return get_translations()
    memo = getattr(context, "sip_translations", None)
    if memo is None or memo[0] is not locale:
        memo = context.sip_translations = (locale, get_translations())
    return memo[1]


def install_template_gettext(app) -> None:
    """Templates' `_()`, `ngettext()`… through `_translations` (after `babel.init_app`, which installs its own)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
