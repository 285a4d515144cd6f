"""Single sign-on helpers: configure an organization's connection to a test provider (OIDC
or SAML), and walk the login's redirects by hand (the tenant host through a Django test
client, the provider over real HTTP on loopback)."""

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from django.utils import timezone

from accounts.sso.models import SsoDomain
from billing.models import BillingAccount, Plan
from tests.factories import Org
from tests.support.domains import DnsServer
from tests.support.oidc_idp import OidcProvider
from tests.support.pysaml2_idp import Pysaml2Idp
from tests.support.saml_idp import SamlIdp, answer_form

AnyIdp = SamlIdp | Pysaml2Idp


def sso_configure(org: Org, idp: OidcProvider, **fields: Any) -> Any:
    """PUT /api/v1/sso/ as `org`'s member for a new client of `idp` (acme.test's domain by
    default); the response."""
    client_id, secret = idp.client()
    body = {
        "issuer": idp.issuer,
        "client_id": client_id,
        "client_secret": secret,
        "domains": [f"{org.tenant.slug}.test"],
        "policy": "optional",
        "default_role": "member",
        **fields,
    }
    return org.client.put("/api/v1/sso/", body, format="json")


def sso_domain_shown(org: Org, domain: str) -> dict[str, Any]:
    """`domain` as GET /api/v1/sso/ shows it to `org`'s owner (how to prove it, whether it
    is)."""
    answer = org.client.get("/api/v1/sso/")
    assert answer.status_code == 200, answer.content
    (shown,) = [d for d in answer.json()["domains"] if d["domain"] == domain]
    return dict(shown)


def sso_domain_verify(org: Org, domain: str) -> Any:
    """POST /api/v1/sso/domains/<domain>/verify/ as `org`'s member; the response."""
    return org.client.post(f"/api/v1/sso/domains/{domain}/verify/")


def sso_domain_prove(org: Org, dns: DnsServer, domain: str | None = None) -> dict[str, Any]:
    """Publish `org`'s TXT record for `domain` (`<slug>.test` by default) on the test DNS
    server and verify it over the API, as an organization does: the verified domain."""
    domain = domain or f"{org.tenant.slug}.test"
    record = sso_domain_shown(org, domain)["verification"]["dns"]
    dns.records.setdefault((record["name"], "TXT"), []).append(record["value"])
    answer = sso_domain_verify(org, domain)
    assert answer.status_code == 200, answer.content
    assert answer.json()["verified"] is True
    return dict(answer.json())


def provider_round_trip(start: Any, idp: OidcProvider, email: str) -> str:
    """From the login's redirect to the provider (`start`, a 302), through its sign-in page,
    as `email`: the callback URL the provider sends the browser back to."""
    assert start.status_code == 302, start.content
    authorize = start["Location"]
    assert authorize.startswith(idp.issuer + "/authorize?")
    page = requests.get(authorize, timeout=10)
    assert page.status_code == 200
    params = {k: v[-1] for k, v in parse_qs(urlsplit(authorize).query).items()}
    back = requests.post(
        f"{idp.issuer}/authorize",
        data={**params, "email": email},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302
    return str(back.headers["Location"])


def callback_get(client: Any, callback: str) -> Any:
    """The provider's redirect, followed on the tenant host (`client`)."""
    parts = urlsplit(callback)
    assert parts.path == "/api/v1/sso/callback/"
    return client.get(f"{parts.path}?{parts.query}")


def sso_login(client: Any, idp: OidcProvider, email: str) -> Any:
    """The whole login as `email` on `client`'s host: the callback's answer."""
    start = client.get("/api/v1/sso/login/", {"email": email})
    return callback_get(client, provider_round_trip(start, idp, email))


def one_time_code(callback_answer: Any) -> str:
    """The code in the landing page's fragment (/sso/complete#code=...)."""
    assert callback_answer.status_code == 302, callback_answer.content
    location = urlsplit(callback_answer["Location"])
    assert location.path == "/sso/complete"
    assert not location.query
    return location.fragment.removeprefix("code=")


def live_sso_organization(
    server: Any, slug: str, idp: OidcProvider, policy: str = "optional"
) -> tuple[str, dict[str, str]]:
    """On a running server: sign `slug` up, put it on Pro, and configure single sign-on
    through `idp` for `<slug>.test` (verified) over the API as its owner. Its host (with the
    port) and the owner's auth header."""
    owner = {"email": f"owner@{slug}.test", "password": "correct-horse-battery-2026"}
    signup = server.post("/api/v1/signup/", "localhost", json={"name": slug, "slug": slug, **owner})
    assert signup.status_code == 201, signup.text
    BillingAccount.objects.filter(tenant__slug=slug).update(plan=Plan.objects.get(code="pro"))
    host = f"{slug}.localhost:{server.port}"
    auth = {"Authorization": f"Bearer {server.login(host, **owner).token}"}
    client_id, secret = idp.client()
    body = {
        "issuer": idp.issuer,
        "client_id": client_id,
        "client_secret": secret,
        "domains": [f"{slug}.test"],
        "default_role": "member",
        "policy": policy,
    }
    configured = requests.put(
        f"{server.url}/api/v1/sso/", json=body, headers={"Host": host, **auth}, timeout=30
    )
    assert configured.status_code == 200, configured.text
    _domains_proven(slug)
    return host, auth


def saml_configure(org: Org, idp: AnyIdp, **fields: Any) -> Any:
    """PUT /api/v1/sso/ as `org`'s member: a SAML connection to `idp` from its metadata as
    XML (`<slug>.test`'s domain by default; a field given as None is left out); the
    response."""
    body = {
        "protocol": "saml",
        "idp_metadata_xml": idp.metadata(),
        "domains": [f"{org.tenant.slug}.test"],
        "policy": "optional",
        "default_role": "member",
        **fields,
    }
    body = {name: value for name, value in body.items() if value is not None}
    return org.client.put("/api/v1/sso/", body, format="json")


def saml_idp_round_trip(start: Any, idp: AnyIdp, email: str) -> tuple[str, dict[str, str]]:
    """From the login's redirect to the IdP (`start`, a 302 with the HTTP-Redirect binding),
    through its sign-in page, as `email`: the ACS URL and the form (SAMLResponse,
    RelayState) the IdP's answer page posts there."""
    assert start.status_code == 302, start.content
    location = start["Location"]
    assert location.startswith(idp.sso_url + "?"), location
    page = requests.get(location, timeout=10)
    assert page.status_code == 200, page.text
    return saml_idp_continue(page.text, idp, email)


def saml_idp_continue(page: str, idp: AnyIdp, email: str) -> tuple[str, dict[str, str]]:
    """The IdP's sign-in page (`page`) submitted as `email`: the answer's ACS URL and form."""
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page))
    answer = requests.post(
        f"{idp.sso_url}/continue",
        data={**{k: html.unescape(v) for k, v in hidden.items()}, "email": email},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer_form(answer.text)


def acs_post(client: Any, acs_url: str, form: dict[str, str], **headers: Any) -> Any:
    """The IdP's answer posted (HTTP-POST binding) to the ACS on the tenant host (`client`)."""
    path = urlsplit(acs_url).path
    assert path == "/api/v1/sso/saml/acs/", acs_url
    return client.post(path, urlencode(form), content_type=FORM, **headers)


def saml_login(client: Any, idp: AnyIdp, email: str) -> Any:
    """The whole SAML login as `email` on `client`'s host: the ACS's answer."""
    start = client.get("/api/v1/sso/login/", {"email": email})
    return acs_post(client, *saml_idp_round_trip(start, idp, email))


FORM = "application/x-www-form-urlencoded"


def live_saml_organization(server: Any, slug: str, idp: AnyIdp) -> tuple[str, dict[str, str]]:
    """On a running server: sign `slug` up, put it on Pro, and configure SAML single sign-on
    through `idp` (its metadata by URL) for `<slug>.test` over the API as its owner. Its host
    (with the port) and the owner's auth header."""
    owner = {"email": f"owner@{slug}.test", "password": "correct-horse-battery-2026"}
    signup = server.post("/api/v1/signup/", "localhost", json={"name": slug, "slug": slug, **owner})
    assert signup.status_code == 201, signup.text
    BillingAccount.objects.filter(tenant__slug=slug).update(plan=Plan.objects.get(code="pro"))
    host = f"{slug}.localhost:{server.port}"
    auth = {"Authorization": f"Bearer {server.login(host, **owner).token}"}
    body = {
        "protocol": "saml",
        "idp_metadata_url": idp.metadata_url,
        "domains": [f"{slug}.test"],
        "default_role": "member",
    }
    configured = requests.put(
        f"{server.url}/api/v1/sso/", json=body, headers={"Host": host, **auth}, timeout=30
    )
    assert configured.status_code == 200, configured.text
    if isinstance(idp, Pysaml2Idp):  # it checks our requests against our SP metadata
        idp.sp_register(server.get("/api/v1/sso/saml/metadata/", host).text)
    _domains_proven(slug)
    return host, auth


def _domains_proven(slug: str) -> None:
    """Marks `slug`'s SSO domains proven, as POST .../verify/ records it (the checks
    themselves run against a DNS server on loopback in
    tests/accounts/sso/test_domain_verification.py; a server process asks the system's
    resolver, which knows no `.test` name)."""
    SsoDomain.objects.filter(connection__tenant__slug=slug).update(
        verified_at=timezone.now(), verified_by="dns"
    )
