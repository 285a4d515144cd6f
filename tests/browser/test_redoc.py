"""ReDoc (/api/redoc/) in a real browser against the real server: everything it loads comes
from our own origin (no web fonts, scripts or logos from elsewhere), its Content-Security-Policy
blocks nothing it needs, and it shows the API's tags and operations."""

from collections.abc import Callable

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from tests.support.processes import RunningServer

pytestmark = pytest.mark.slow

# Reports every CSP violation of the page (also those the console does not print) as an error.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


def test_redoc_loads_only_from_our_origin_and_shows_the_operations(
    committed: None, start_server: Callable[..., RunningServer], browser_page: Page
) -> None:
    server = start_server()
    tags = server.get("/api/schema/?format=json", "localhost").json()["tags"]
    origin = f"http://localhost:{server.port}"
    page = browser_page
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"console: {message.text}")

    def on_request(request: Request) -> None:
        url = request.url
        if not (url.startswith(origin + "/") or url.startswith(("data:", "blob:"))):
            problems.append(f"outside the origin: {request.method} {url}")

    def on_request_failed(request: Request) -> None:
        problems.append(f"failed: {request.url} ({request.failure})")

    page.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", on_request)
    page.on("requestfailed", on_request_failed)

    response = page.goto(f"{origin}/api/redoc/")
    assert response is not None
    assert response.status == 200
    assert "Content-Security-Policy" in {name.title() for name in response.headers}

    # The API's title, a tag with its description, and operations under it.
    expect(page.locator("h1").first).to_contain_text("SaaS")
    projects = page.locator('[data-section-id="tag/projects"]')
    (description,) = [t["description"] for t in tags if t["name"] == "projects"]
    expect(projects).to_contain_text(description)
    operation = page.locator('[data-section-id="tag/projects/operation/projects_list"]')
    expect(operation).to_contain_text("List projects")
    expect(operation).to_contain_text("/api/v1/projects/")
    menu = page.locator('[role="menuitem"]', has_text="Create a project")
    expect(menu.first).to_be_attached()
    # Search runs in a web worker (from a blob: URL): it must find an operation.
    page.locator('input[placeholder="Search..."]').fill("invitation")
    expect(page.locator('[data-role="search:results"] li').first).to_be_visible()

    page.wait_for_load_state("networkidle")
    assert not problems, "\n".join(problems)
