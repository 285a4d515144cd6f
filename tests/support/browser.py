"""Pages driven in a real headless Chromium (Playwright's sync API).

The browser is the system's Chromium (Debian's `chromium` package), never one downloaded by
`playwright install`: that needs the internet and a second copy of a browser. When it is
missing and we run as root with apt-get (the CI machine), the `chromium` fixture installs it
once; otherwise browser tests are skipped with the command that fixes it. The fixtures
(`chromium`, `browser_page`) and the screenshot hook are in tests/fixtures/browser.py.

Tests that need the real server take `start_server` (tests/fixtures/core.py) and open
`http://<slug>.localhost:<port>/...`: Chromium resolves every `*.localhost` to loopback.
A failing test leaves a screenshot of its page in `.artifacts/screenshots/<test name>.png`.
"""

import os
import shutil
import subprocess
from typing import Any

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.support.processes import REPO

SCREENSHOTS = REPO / ".artifacts" / "screenshots"
BROWSER_TESTS = REPO / "tests" / "browser"
NOT_INSTALLED = "Chromium is not installed: apt-get install chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in a container has no user namespaces for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Nothing of Google's: no update checks, component downloads or sync behind our back.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long an action or an expectation waits before the test fails: more than expect()'s
# 5 s, for a loaded CI machine, and less than the actions' 30 s, so a broken page reports
# soon.
DEFAULT_TIMEOUT_MS = 15_000
expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
INSTALL_TIMEOUT_S = 600


def apt_install_chromium() -> str:
    """Installs Debian's chromium when we may (root with apt-get); '' on success, else why
    not. Bounded in time: a hung mirror must not hang the test run."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "not root with apt-get, so not installing it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    # Straight away first: the package lists are usually there. If not, refresh them once.
    failure = ""
    for commands in ([install], [["apt-get", "update", "-q"], install]):
        try:
            for command in commands:
                subprocess.run(  # noqa: S603
                    command, env=env, capture_output=True, timeout=INSTALL_TIMEOUT_S, check=True
                )
            return ""
        except subprocess.TimeoutExpired:
            return f"{' '.join(command)} took over {INSTALL_TIMEOUT_S}s"
        except subprocess.CalledProcessError as exc:
            failure = f"{' '.join(command)} failed: {exc.stderr.decode(errors='replace')[-500:]}"
    return failure


def chromium_executable() -> str | None:
    return shutil.which("chromium")


class Chromium:
    """The system Chromium under Playwright, one browser for the whole run.

    Playwright's sync API keeps its asyncio loop marked as running in this thread between
    calls, so Django would take every ORM call made meanwhile for one made inside async code
    (SynchronousOnlyOperation). That is a false alarm here, so the check is switched off
    while the browser runs, and the browser runs only while tests/browser does: it starts on
    first use and stops when the run leaves that directory (pytest_runtest_teardown in
    tests/fixtures/browser.py), so the tests elsewhere keep Django's check.
    """

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._async_unsafe_before: str | None = None

    @property
    def browser(self) -> Browser:
        if self._browser is None or not self._browser.is_connected():
            self.stop()
            self._async_unsafe_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable, args=CHROMIUM_ARGS
            )
        return self._browser

    def new_context(self, **options: Any) -> BrowserContext:
        context = self.browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        return context

    def stop(self) -> None:
        if self._playwright is None:
            return
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._playwright.stop()
            self._playwright = self._browser = None
            if self._async_unsafe_before is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = self._async_unsafe_before


def page_problems(page: Page) -> list[str]:
    """A list that fills with the page's console errors, CSP reports and uncaught errors,
    for a test to assert empty once the page has done its work."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems
