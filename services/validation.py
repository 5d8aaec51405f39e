"""Checks on what residents type, shared by forms and services (services are the last word)."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _

from .errors import RuleViolation

# A tag-like sequence: `<script`, `</b`, `<!--`, `<img`. A lone "<" as in "noise < 50 dB" is fine.
_MARKUP = re.compile(r"<\s*[A-Za-z/!?]")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_MAINLAND_MOBILE = re.compile(r"^(?:\+86|0086)?(1[3-9]\d{9})$")
_LANDLINE = re.compile(r"^(?:\+86|0086)?(0\d{9,11})$")  # area code + number, e.g. 0512 6xxx xxxx
_INTERNATIONAL = re.compile(r"^(?:\+|00)([1-9]\d{6,14})$")  # E.164: foreign residents' own numbers


def has_markup(value: str) -> bool:
    return bool(_MARKUP.search(value))


def clean_text(value: str | None, label: str, max_length: int, required: bool = True, multiline: bool = False) -> str:
    """Trimmed text, or RuleViolation (400) with a message that names the field."""
    text = (value or "").strip()
    if multiline:
        text = text.replace("\r\n", "\n")
    if required and not text:
        raise RuleViolation(_("Please fill in: %(field)s.", field=label), "required", 400)
    if len(text) > max_length:
        raise RuleViolation(
            _("%(field)s is too long: at most %(max)d characters.", field=label, max=max_length), "too_long", 400
        )
    if has_markup(text):
        raise RuleViolation(
            _("%(field)s may not contain HTML or script tags such as <script>; plain text only.", field=label),
            "markup",
            400,
        )
    allowed_controls = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed_controls for ch in text):
        raise RuleViolation(_("%(field)s contains invisible control characters.", field=label), "control", 400)
    return text


def normalise_phone(value: str | None) -> str:
    """A mainland mobile (11 digits), a landline with area code, or +international; else RuleViolation."""
    raw = _PHONE_SEPARATORS.sub("", (value or "").strip())
    if not raw:
        raise RuleViolation(_("Please fill in: %(field)s.", field=_("Phone number")), "required", 400)
    for pattern, prefix in ((_MAINLAND_MOBILE, ""), (_LANDLINE, ""), (_INTERNATIONAL, "+")):
        match = pattern.match(raw)
        if match:
            return prefix + match.group(1)
    raise RuleViolation(
        _(
            "Please enter a phone number such as 13812345678 or 0512 62345678, "
            "or an international number starting with +."
        ),
        "phone_format",
        400,
    )


EMAIL_MAX = 254
# Deliberately simple: one "@", a dot in the domain, no spaces or markup. Mail servers are the real test.
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")


def normalise_email_address(value: str | None, required: bool = False) -> str:
    """An optional email address as stored (trimmed, lower case), or RuleViolation (400)."""
    text = (value or "").strip().lower()
    if not text:
        if required:
            raise RuleViolation(_("Please fill in: %(field)s.", field=_("Email address")), "required", 400)
        return ""
    if len(text) > EMAIL_MAX or not _EMAIL.match(text) or ".." in text:
        raise RuleViolation(
            _("Please enter an email address such as name@example.com, or leave it empty."), "email_format", 400
        )
    return text
