"""Both catalogues are complete, and the compiled files match them."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import read_mo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import translations  # noqa: E402


def test_every_interface_string_is_translated_in_both_languages():
    problems = translations.problems()
    assert problems == [], "\n".join(problems[:50])


def test_compiled_catalogues_are_up_to_date():
    for locale in translations.LOCALES:
        po = translations.load(translations.po_path(locale), locale)
        with translations.po_path(locale).with_suffix(".mo").open("rb") as fh:
            mo = read_mo(fh)

        # Plural entries: ids and strings are tuples in the .po and lists in the .mo.
        def same(value):
            return tuple(value) if isinstance(value, (list, tuple)) else value

        expected = {same(m.id): same(m.string) for m in po if m.id}
        compiled = {same(m.id): same(m.string) for m in mo if m.id}
        assert compiled == expected, f"run: python tools/translations.py compile ({locale})"


def test_chinese_is_the_default_and_english_on_request(client):
    assert "首页" in client.get("/").get_data(as_text=True)
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Home" in english and "首页" not in english


def test_language_choice_is_remembered_and_accept_language_is_honoured(client, make_client):
    client.get("/?lang=en")
    assert "Log in" in client.get("/").get_data(as_text=True)
    fresh = make_client()
    assert "Log in" in fresh.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "登录" in fresh.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
