"""A TensorBoard server and a headless browser on it, for the dashboard tests and `make figures`."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def get_json(base: str, path: str, payload: dict | None = None) -> Any:
    """A TensorBoard HTTP API answer (a POST when there is a payload)."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextmanager
def tensorboard_server(logdir: Path, runs: set[str], timeout: float = 60) -> Iterator[str]:
    """TensorBoard on a free port of 127.0.0.1, yielding its URL once it lists `runs`; stopped by its pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Started in the log folder with `--logdir .`: the dashboards print the log folder as given, and
    # screenshots must not show where this machine keeps it.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            ".",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=logdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if set(get_json(base, "/data/runs")) >= runs:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"TensorBoard on {base} did not list {sorted(runs)} within {timeout:.0f} s"
                )
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def chromium_path() -> str:
    return shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def browser_page(width: int = 1400, height: int = 2400) -> Iterator[Any]:
    """A page in headless Chromium (Debian's `chromium`, no browser download), driven by Playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(chromium_path()).exists():
        raise FileNotFoundError("no Chromium found: apt-get install chromium (make test-e2e does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def show_tags(page: Any, base: str, dashboard: str, ready: str, tag_filter: str) -> None:
    """Open a dashboard and filter its tags, which opens every matching card in one pane
    (categories otherwise start collapsed)."""
    page.goto(f"{base}/#{dashboard}")
    page.wait_for_selector(ready, timeout=30_000)
    page.locator("tf-tag-filterer input >> visible=true").fill(tag_filter)
    page.wait_for_timeout(3000)  # let the charts draw


def choose(scope: Any, menu: Any, item: str) -> str:
    """Pick the first item showing `item` in the Polymer dropdown `menu` (a locator) of a page or
    frame, as a person clicks it; returns the item's whole text (e.g. `label\n10 colors`)."""
    menu.click()
    scope.wait_for_timeout(500)
    choice = scope.locator("paper-item >> visible=true").filter(has_text=item).first
    text = choice.inner_text()
    choice.click()
    scope.wait_for_timeout(2000)
    return text


def show_graph(page: Any, base: str, run: str, expand: str | None = None) -> None:
    """Open the Graphs dashboard on `run`'s graph, and open the node `expand` (a double click)."""
    page.goto(f"{base}/#graphs")
    page.wait_for_selector("g.node", timeout=30_000)
    choose(page, page.locator("tf-graph-controls paper-dropdown-menu").first, run)
    page.wait_for_timeout(2000)
    if expand:
        page.locator("g.node").filter(has_text=expand).first.dblclick()
        page.wait_for_timeout(3000)


def show_projector(page: Any, base: str, run: str | None = None, tensor: str | None = None) -> Any:
    """Open the Projector (on `run`'s embedding `tensor` when given) and wait until it shows its
    points; returns the frame it lives in (an iframe inside an iframe), where its controls are."""
    page.goto("about:blank")  # a fresh Projector: it keeps the last embedding's colour legend otherwise
    page.goto(f"{base}/#projector")
    deadline = time.monotonic() + 60
    while not (frames := [f for f in page.frames if "projector_binary" in f.url]):
        if time.monotonic() > deadline:
            raise TimeoutError("the Projector did not open")
        page.wait_for_timeout(500)
    frame = frames[0]
    points = frame.locator("text=/Points: \\d+/ >> visible=true").first
    points.wait_for(timeout=60_000)
    # The menus without a fixed label: the runs (when there are several), then the run's tensors.
    menus = frame.locator("vz-projector-data-panel paper-dropdown-menu:not([label])")
    for menu, name in ((menus.first, run), (menus.last, tensor)):
        if name:
            choose(frame, menu, name)
            points.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)  # let the points and their sprites draw
    return frame


def color_projector_by(frame: Any, column: str) -> str:
    """Colour the Projector's points by a metadata column; returns the menu item's text
    (`label\n10 colors`: the column and how many values it has)."""
    menu = frame.locator("vz-projector-data-panel paper-dropdown-menu[label='Color by']")
    return choose(frame, menu, column)
