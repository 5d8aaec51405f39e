"""Keep the zh_CN and en catalogues complete.

    python tools/translations.py update    # extract strings, update both catalogues, merge translations/pending/*.po
    python tools/translations.py compile   # write the .mo files the app loads
    python tools/translations.py check     # list missing, empty or fuzzy entries (exit 1 if any)

Interface text is written in English in the code; the English catalogue maps each
string to itself so that a missing entry is visible as a test failure, not a silent fallback.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
# Babel names Simplified Chinese (China) zh_Hans_CN and looks for that folder.
LOCALES = ("zh_Hans_CN", "en")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def extract(target: Path = POT) -> Catalog:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "--ignore-dirs=venv .venv node_modules tests bench tools migrations",
            "-o",
            str(target),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with target.open("rb") as fh:
        return read_po(fh)


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def save(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, no_location=True, sort_output=True, width=0)


def update() -> None:
    template = extract()
    pending: dict[str, str] = {}
    for extra in sorted((TRANSLATIONS / "pending").glob("*.po")):
        for message in load(extra, "zh_CN"):
            if message.id and message.string:
                pending[message.id if isinstance(message.id, str) else message.id[0]] = message.string
    for locale in LOCALES:
        path = po_path(locale)
        catalog = load(path, locale) if path.exists() else Catalog(locale=locale)
        # Catalog.update inserts the template's own Message objects for new strings: a copy per
        # locale keeps the Chinese filled in below out of the English catalogue.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            plural_empty = isinstance(message.string, tuple) and not all(message.string)
            if locale == "en" and (not message.string or plural_empty):
                message.string = message.id  # a plural entry gets its (singular, plural) pair
            elif locale == "zh_Hans_CN" and key in pending:
                message.string = pending[key]
            message.flags.discard("fuzzy")
        catalog.obsolete.clear()
        save(catalog, path)


def compile_all() -> None:
    for locale in LOCALES:
        catalog = load(po_path(locale), locale)
        with po_path(locale).with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)


def problems() -> list[str]:
    """Strings in the code that a catalogue lacks, leaves empty or marks fuzzy."""
    scratch = TRANSLATIONS / ".check.pot"
    try:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(scratch) if m.id}
    finally:
        scratch.unlink(missing_ok=True)
    found = []
    for locale in LOCALES:
        catalog = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in load(po_path(locale), locale) if m.id}
        for msgid in sorted(wanted):
            message = catalog.get(msgid)
            if message is None:
                found.append(f"{locale}: missing {msgid!r}")
            elif not message.string or (isinstance(message.string, tuple) and not all(message.string)):
                found.append(f"{locale}: empty {msgid!r}")
            elif message.fuzzy:
                found.append(f"{locale}: fuzzy {msgid!r}")
    return found


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        issues = problems()
        print("\n".join(issues) or "catalogues complete")
        sys.exit(1 if issues else 0)
    else:
        sys.exit(__doc__)
