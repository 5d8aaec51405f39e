"""Lighthouse (mobile) scores of the public pages in both languages: accessibility, best practices, SEO.

    python tools/lighthouse.py --base http://127.0.0.1:5000 [--lighthouse PATH] [--target 100]

Needs a running server (`python app.py` serves the demo data), Chromium (CHROME_PATH, default
/usr/bin/chromium) and the npm package `lighthouse` (12.2.3 runs on Node 20:
`npm i -E lighthouse@12.2.3` in any scratch folder, then pass its node_modules/.bin/lighthouse).
Prints one line per page and exits 1 when a score is below the target or an audit fails.
Lighthouse needs no network beyond the server: it runs offline against localhost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PAGES = ["/", "/contact-days", "/holiday-court", "/legal-clinic"]
LANGS = ["zh", "en"]
CATEGORIES = ["accessibility", "best-practices", "seo"]
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)


def run(lighthouse: str, url: str, out: Path) -> dict:
    subprocess.run(
        [
            lighthouse,
            url,
            "--form-factor=mobile",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
            "--output=json",
            f"--output-path={out}",
            "--quiet",
        ],
        check=True,
        timeout=240,
        env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
    )
    return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the running server, e.g. http://127.0.0.1:5000")
    parser.add_argument(
        "--lighthouse",
        default=os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse"),
        help="path of the lighthouse command",
    )
    parser.add_argument("--target", type=int, default=100, help="lowest acceptable score (0-100)")
    args = parser.parse_args()
    if not args.lighthouse:
        parser.error("lighthouse not found: npm i -E lighthouse@12.2.3, then pass --lighthouse")
    failed = False
    print(f"{'page':<28} {'lang':<4} " + " ".join(f"{c:>15}" for c in CATEGORIES) + "  failing audits")
    with tempfile.TemporaryDirectory() as scratch:
        for path in PAGES:
            for lang in LANGS:
                url = f"{args.base.rstrip('/')}{path}?lang={lang}"
                report = run(args.lighthouse, url, Path(scratch) / "report.json")
                scores = {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}
                failing = sorted(
                    audit_id
                    for audit_id, audit in report["audits"].items()
                    if audit.get("scoreDisplayMode") in ("binary", "numeric")
                    and audit.get("score") is not None
                    and audit["score"] < 1
                    and any(
                        ref["id"] == audit_id
                        for c in CATEGORIES
                        for ref in report["categories"][c]["auditRefs"]
                        if ref.get("weight")
                    )
                )
                failed |= any(s < args.target for s in scores.values())
                print(
                    f"{path:<28} {lang:<4} "
                    + " ".join(f"{scores[c]:>15}" for c in CATEGORIES)
                    + "  "
                    + (", ".join(failing) or "-")
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
