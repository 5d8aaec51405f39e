"""Take the README's screenshots from a running demo server: docs/screenshots/*.png.

    python app.py &                                   # the demo data set
    python tools/screenshots.py --base http://127.0.0.1:5000

Headless Chromium (/usr/bin/chromium) through Playwright, as the browser tests use it.
"""

from __future__ import annotations

import argparse
import pathlib

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # A resident on a phone: the coming contact days, in English.
        phone = browser.new_page(viewport={"width": 390, "height": 760}, device_scale_factor=1)
        phone.goto(f"{args.base}/contact-days?lang=en")
        phone.screenshot(path=OUT / "resident-contact-days.png")
        # A coordinator's roster for the week, on a laptop.
        page = browser.new_page(viewport={"width": 1100, "height": 700}, device_scale_factor=1)
        page.goto(f"{args.base}/login?lang=en")
        page.fill("input[name=email]", "coordinator001@demo.sip.example")
        page.fill("input[name=password]", "demo-password")
        page.locator("form button[type=submit], form input[type=submit]").last.click()
        page.goto(f"{args.base}/roster/team/T001?lang=en")
        page.screenshot(path=OUT / "coordinator-roster.png")
        browser.close()
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
