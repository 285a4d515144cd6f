"""The SAML login against the real server (gunicorn) over plain HTTP: the redirect to a real
SAML IdP on loopback, its sign-in page, its answer posted to our ACS, the landing page's
code, the tokens, then an authenticated call; as a client without a browser sees it. The
answer works on its organization's host only, and once."""

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounts.models import Membership, User
from tests.support.processes import RunningServer
from tests.support.pysaml2_idp import Pysaml2Idp
from tests.support.saml_idp import SamlIdp
from tests.support.sso import live_saml_organization, saml_idp_continue

pytestmark = pytest.mark.slow


def test_the_whole_saml_login_over_plain_http(
    committed: None,
    start_server: Callable[..., RunningServer],
    saml_idp: SamlIdp,
) -> None:
    server = start_server()
    host, auth = live_saml_organization(server, "samllive", saml_idp)
    other_host, _ = live_saml_organization(server, "samlother", saml_idp)
    shown = requests.get(f"{server.url}/api/v1/sso/", headers={"Host": host, **auth}, timeout=10)
    assert shown.json()["acs_url"] == f"http://{host}/api/v1/sso/saml/acs/"
    metadata = server.get("/api/v1/sso/saml/metadata/", host)
    assert f'entityID="http://{host}/api/v1/sso/saml/metadata/"' in metadata.text

    start = server.get("/api/v1/sso/login/?email=ada@samllive.test", host, allow_redirects=False)
    assert start.status_code == 302, start.text
    assert start.headers["Cache-Control"] == "no-store"
    location = start.headers["Location"]
    assert location.startswith(saml_idp.sso_url + "?")
    assert set(parse_qs(urlsplit(location).query)) == {"SAMLRequest", "RelayState"}
    page = requests.get(location, timeout=10)  # the IdP's sign-in page
    assert page.status_code == 200
    acs_url, form = saml_idp_continue(page.text, saml_idp, "ada@samllive.test")
    assert acs_url == f"http://{host}/api/v1/sso/saml/acs/"

    # Posted on another organization's host, the answer is refused (and spends nothing there).
    wrong = server.post("/api/v1/sso/saml/acs/", other_host, data=form, allow_redirects=False)
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"]["code"] == "sso_state_invalid"

    landed = server.post("/api/v1/sso/saml/acs/", host, data=form, allow_redirects=False)
    assert landed.status_code == 302, landed.text
    landing = urlsplit(landed.headers["Location"])
    assert (landing.netloc, landing.path) == (host, "/sso/complete")
    code = landing.fragment.removeprefix("code=")
    replayed = server.post("/api/v1/sso/saml/acs/", host, data=form, allow_redirects=False)
    assert replayed.status_code == 400
    assert replayed.json()["error"]["code"] == "sso_state_invalid"

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
    me = requests.get(
        f"{server.url}/api/v1/auth/user/",
        headers={"Host": host, "Authorization": bearer},
        timeout=10,
    )
    assert me.json()["email"] == "ada@samllive.test"

    ada = User.objects.get(email="ada@samllive.test")
    assert not ada.has_usable_password()
    assert Membership.objects.get(user=ada, tenant__slug="samllive").role == "member"
    assert not Membership.objects.filter(user=ada, tenant__slug="samlother").exists()


def test_pysaml2s_idp_over_plain_http(
    committed: None,
    start_server: Callable[..., RunningServer],
    pysaml2_idp: Pysaml2Idp,
) -> None:
    """The same walk with pysaml2's IdP, which checks our AuthnRequest against the SP
    metadata our server serves (registered there by live_saml_organization)."""
    server = start_server()
    host, _ = live_saml_organization(server, "pysamllive", pysaml2_idp)
    start = server.get("/api/v1/sso/login/", host, allow_redirects=False)
    assert start.status_code == 302, start.text
    page = requests.get(start.headers["Location"], timeout=10)
    assert page.status_code == 200, page.text
    acs_url, form = saml_idp_continue(page.text, pysaml2_idp, "bo@pysamllive.test")
    assert acs_url == f"http://{host}/api/v1/sso/saml/acs/"
    landed = server.post("/api/v1/sso/saml/acs/", host, data=form, allow_redirects=False)
    assert landed.status_code == 302, landed.text
    code = urlsplit(landed.headers["Location"]).fragment.removeprefix("code=")
    tokens = server.post("/api/v1/sso/token/", host, json={"code": code})
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["email"] == "bo@pysamllive.test"
