"""The operator admin in a real browser against the real server: log in through the form on
the public host, then open every registered model's list from the admin index."""

import re
from collections.abc import Callable

import pytest
from django.contrib import admin
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.factories import PASSWORD
from tests.support.admin_samples import admin_samples
from tests.support.browser import page_problems
from tests.support.processes import RunningServer

pytestmark = pytest.mark.slow

OPERATOR = "operator@example.test"


def test_operator_logs_in_and_opens_every_models_list(
    committed: None, start_server: Callable[..., RunningServer], browser_page: Page
) -> None:
    admin_samples()  # rows in the lists, so their columns render too
    User.objects.create_superuser(email=OPERATOR, password=PASSWORD)
    server = start_server()
    page = browser_page
    problems = page_problems(page)  # uncaught errors, and anything the CSP refuses
    index_url = f"http://localhost:{server.port}/admin/"

    page.goto(index_url)
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.fill("#id_username", OPERATOR)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(index_url)
    expect(page).to_have_title(re.compile("Site administration"))

    opened = []
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        meta = model._meta
        href = f"/admin/{meta.app_label}/{meta.model_name}/"
        page.goto(index_url)
        with page.expect_response(re.compile(re.escape(href) + "$")) as answer:
            page.click(f"#content-main a[href='{href}']")
        assert answer.value.status == 200, f"{meta.label}: {answer.value.status}"
        # "Select tenant to change", or "... to view" where the admin only shows rows.
        title = re.compile(rf"Select {re.escape(str(meta.verbose_name))} to (change|view)")
        expect(page).to_have_title(title)
        expect(page.locator("#changelist")).to_be_visible()
        opened.append(meta.label)

    assert len(opened) == len(admin.site._registry)
    assert not problems, "\n".join(problems)
