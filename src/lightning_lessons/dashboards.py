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
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(logdir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
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
