"""Photograph every page of the app at 360 px and 1280 px, with the demo loaded: ``scripts/screenshots``.

    python -m tests.browser.screenshots [--out DIR] [--only REGEX]

Writes DIR/<role>--<endpoint>--360.png and --1280.png for every page of the tour
(tests/browser/page_tour.py: every page, as every visitor allowed to see it) and DIR/index.html,
which shows them all side by side, so a person can look through every screen in a minute.
Debian's Chromium only (/usr/bin/chromium, or TIMEBANK_CHROMIUM).
"""

from __future__ import annotations

import argparse
import html
import logging
import re
import sys
import tempfile
from pathlib import Path

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, browser_test_app, new_context, serving
from tests.browser.page_tour import ROLES, load_demo_site, sign_in_as, visits

SIZES = {"360": PHONE, "1280": DESKTOP}


def take(out: Path, only: str | None) -> list[tuple[str, str, str]]:
    """Every page's two screenshots in ``out``; (role, endpoint, file stem) for each page taken."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    taken: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        app = browser_test_app(f"sqlite:///{Path(folder) / 'demo.sqlite'}")
        print("Loading the demo...", flush=True)
        site = load_demo_site(app)
        planned = [v for v in visits(app, site) if only is None or re.search(only, v.name)]
        with serving(app) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            for role in ROLES:
                mine = [visit for visit in planned if visit.role == role]
                if not mine:
                    continue
                context = new_context(browser, server, viewport=PHONE)
                page = context.new_page()
                if role != "anonymous":
                    sign_in_as(page, site.emails[role])
                for visit in mine:
                    response = page.goto(visit.url)
                    if response is None or response.status != 200 or response.request.redirected_from is not None:
                        continue
                    for size, viewport in SIZES.items():
                        page.set_viewport_size(viewport)
                        page.screenshot(path=str(out / f"{visit.name}--{size}.png"), full_page=True)
                    page.set_viewport_size(PHONE)
                    taken.append((role, visit.endpoint, visit.name))
                    print(f"  {visit.name}  {visit.url}", flush=True)
                context.close()
            browser.close()
    return taken


def write_index(out: Path, taken: list[tuple[str, str, str]]) -> Path:
    rows = "\n".join(
        f"<section><h2>{html.escape(endpoint)} <small>as {html.escape(role)}</small></h2>"
        f'<a href="{stem}--360.png"><img src="{stem}--360.png" width="180" alt="{html.escape(stem)} at 360 px"></a> '
        f'<a href="{stem}--1280.png"><img src="{stem}--1280.png" width="480" alt="{html.escape(stem)} at 1280 px">'
        "</a></section>"
        for role, endpoint, stem in taken
    )
    index = out / "index.html"
    index.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Every page of Timebank</title>'
        "<style>body{font-family:sans-serif;margin:1rem}section{margin-bottom:1.5rem}"
        "img{vertical-align:top;border:1px solid #888;max-height:40rem;object-fit:cover;object-position:top}</style>"
        f"</head><body><h1>Every page, at 360 px and 1280 px ({len(taken)} pages)</h1>{rows}</body></html>"
    )
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="test-artifacts/every-page", help="the folder to write (default: %(default)s)")
    parser.add_argument("--only", help="only pages whose role--endpoint matches this regular expression")
    args = parser.parse_args(argv)
    if not CHROMIUM.is_file():
        print(f"No Chromium at {CHROMIUM} (as root: apt-get install -y chromium)", file=sys.stderr)
        return 1
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request
    out = Path(args.out)
    taken = take(out, args.only)
    index = write_index(out, taken)
    print(f"{len(taken)} pages, two sizes each: open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
