"""Refresh assets/screenshot.png: the app, served in-process with the shipped checkpoints, after a real run.

    python scripts/screenshot.py [--example "Warm-up 3 (46 blanks)"] [--step 2] [--tab Latents] [--out PATH]
    python scripts/screenshot.py --task Maze --example tiny --step 5 --tab Corrections --out assets/screenshot-maze.png
    python scripts/screenshot.py --task ARC --example "0d3d703e: swap colours by a fixed mapping" --step 2 \
        --tab Corrections --out assets/screenshot-arc.png
    python scripts/screenshot.py --task ARC --example "0d3d703e: swap colours by a fixed mapping" --step 2 \
        --tab "Variant vote" --element "#vote-tab" --out assets/screenshot-arc-vote.png    # Vote is pressed

Needs Debian's chromium and the playwright package (never `playwright install`).
"""
from __future__ import annotations

import argparse
import shutil
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trm_viz.ui.app_layout import build_app, launch_kwargs  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="Sudoku", choices=["Sudoku", "Maze", "ARC"])
    ap.add_argument("--example", default="Warm-up 3 (46 blanks)")
    ap.add_argument("--step", type=int, default=2)
    ap.add_argument("--tab", default="Inner recursion")
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshot.png"))
    ap.add_argument("--element", help="CSS selector: picture only this element (default: the whole page)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_app(warm=False)
    demo.launch(**{**launch_kwargs(), "server_name": "127.0.0.1", "server_port": port, "prevent_thread_lock": True,
                   "quiet": True})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(demo.local_url)
            page.wait_for_selector("#editor .ge-cell")
            if args.task != "Sudoku":
                page.click(f"#task label:has-text('{args.task}')")
                page.wait_for_selector('#editor .ge-tool[data-tool="0"]')    # the task's own palette
                time.sleep(1.0)
            page.locator("#examples input").fill(args.example)
            page.locator("#examples input").press("Enter")
            page.wait_for_function("document.querySelector('#check').innerText.includes('Ready')", timeout=30_000)
            time.sleep(1.0)
            page.click("#run-button")
            page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done')", timeout=300_000)
            slider = page.locator("#viewer .sv-slider")
            slider.fill(str(args.step))
            slider.dispatch_event("change")
            page.click(f"button[role=tab]:has-text('{args.tab}')")
            if args.tab == "Variant vote":
                page.click("#vote-button")
                page.wait_for_function("document.querySelector('#vote-summary').innerText.includes('Vote after')",
                                       timeout=120_000)
            time.sleep(2.0)
            for close in page.locator(".toast-close").all():     # notes such as "placed on the canvas" cover the page
                close.click()
            time.sleep(0.5)
            if args.element:
                page.locator(args.element).screenshot(path=args.out)
            else:
                page.screenshot(path=args.out, full_page=True)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
