"""The SSO login against the real server (gunicorn) over plain HTTP: every redirect followed
by hand with requests, between our tenant host and a real OIDC provider on loopback, as a
client without a browser sees it; then the tokens work on the organization's host only."""

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounts.models import Membership, User
from tests.support.oidc_idp import OidcProvider
from tests.support.processes import RunningServer
from tests.support.sso import live_sso_organization

pytestmark = pytest.mark.slow


def _get(server: RunningServer, url: str, host: str) -> requests.Response:
    """`url` (an absolute one our server made) requested of the server, on `host`."""
    parts = urlsplit(url)
    assert parts.netloc == host, url
    return server.get(f"{parts.path}?{parts.query}", host, allow_redirects=False)


def test_the_whole_login_over_plain_http(
    committed: None,
    start_server: Callable[..., RunningServer],
    oidc_idp: OidcProvider,
) -> None:
    server = start_server()
    host, _ = live_sso_organization(server, "ssolive", oidc_idp)
    other_host, _ = live_sso_organization(server, "ssoother", oidc_idp)

    start = server.get("/api/v1/sso/login/?email=ada@ssolive.test", host, allow_redirects=False)
    assert start.status_code == 302, start.text
    assert start.headers["Cache-Control"] == "no-store"
    authorize = start.headers["Location"]
    assert authorize.startswith(oidc_idp.issuer + "/authorize?")
    assert requests.get(authorize, timeout=10).status_code == 200  # the provider's page
    form = {k: v[-1] for k, v in parse_qs(urlsplit(authorize).query).items()}
    back = requests.post(
        f"{oidc_idp.issuer}/authorize",
        data={**form, "email": "ada@ssolive.test"},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302
    callback = back.headers["Location"]
    assert callback.startswith(f"http://{host}/api/v1/sso/callback/?")

    landed = _get(server, callback, host)
    assert landed.status_code == 302, landed.text
    landing = urlsplit(landed.headers["Location"])
    assert (landing.netloc, landing.path) == (host, "/sso/complete")
    code = landing.fragment.removeprefix("code=")
    page = server.get("/sso/complete", host)
    assert page.status_code == 200
    assert code not in page.text

    assert server.post("/api/v1/sso/token/", other_host, json={"code": code}).status_code == 401
    tokens = server.post("/api/v1/sso/token/", host, json={"code": code})
    assert tokens.status_code == 200, tokens.text
    bearer = f"Bearer {tokens.json()['access']}"
    for on, status in ((host, 200), (other_host, 401)):
        projects = requests.get(
            f"{server.url}/api/v1/projects/",
            headers={"Host": on, "Authorization": bearer},
            timeout=10,
        )
        assert projects.status_code == status
    assert server.post("/api/v1/sso/token/", host, json={"code": code}).status_code == 401

    ada = User.objects.get(email="ada@ssolive.test")
    assert not ada.has_usable_password()
    assert Membership.objects.get(user=ada, tenant__slug="ssolive").role == "member"
    assert _get(server, callback, host).status_code == 400  # the state was spent
