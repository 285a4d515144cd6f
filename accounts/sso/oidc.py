"""The OpenID Connect relying party's checks, apart from any storage: the issuer's discovery
document (OpenID Connect Discovery 1.0) and an ID token (Core 1.0, section 3.1.3.7) against
the keys the issuer publishes. PyJWT (already simplejwt's) does the JOSE work; only
asymmetric algorithms are accepted, so neither `none` nor an HMAC keyed with the (public)
client id can pass."""

import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from .http import ProviderError, provider_get_json, url_check

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
# Clock skew allowed between us and the provider on exp/iat/nbf.
LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class Discovery:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    signing_algorithms: list[str]


def discovery_fetch(issuer: str) -> Discovery:
    """The issuer's configuration, checked: it names itself exactly `issuer`, has the three
    endpoints we call (each one we may call), offers the code flow, signs ID tokens with an
    algorithm we accept, and publishes at least one key of those."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    doc = provider_get_json(url, what="discovery document")
    if doc.get("issuer") != issuer:
        raise ProviderError(
            f"The discovery document names the issuer {doc.get('issuer')!r}, not {issuer!r}."
        )
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            raise ProviderError(f"The discovery document has no {name}.")
        try:
            endpoints[name] = url_check(value)
        except ProviderError as exc:
            raise ProviderError(f"The discovery document's {name}: {exc}") from exc
    response_types = doc.get("response_types_supported", ["code"])
    if not isinstance(response_types, list) or "code" not in response_types:
        raise ProviderError("The provider does not offer the authorization-code flow.")
    offered = doc.get("id_token_signing_alg_values_supported", ["RS256"])
    algorithms = [alg for alg in ASYMMETRIC if isinstance(offered, list) and alg in offered]
    if not algorithms:
        raise ProviderError("The provider signs ID tokens with no algorithm we accept.")
    jwks_keys(endpoints["jwks_uri"], algorithms=algorithms)
    return Discovery(signing_algorithms=algorithms, **endpoints)


def jwks_keys(jwks_uri: str, *, algorithms: list[str]) -> dict[str | None, jwt.PyJWK]:
    """The provider's signing keys by key id."""
    data = provider_get_json(jwks_uri, what="JWKS")
    try:
        keyset = jwt.PyJWKSet.from_dict(data)
    except jwt.PyJWTError as exc:
        raise ProviderError(f"The JWKS holds no usable key ({exc}).") from exc
    keys = {key.key_id: key for key in keyset.keys if key.public_key_use in (None, "sig")}
    if not keys:
        raise ProviderError("The JWKS holds no signing key.")
    return keys


class IdTokenInvalid(Exception):
    pass


def id_token_verify(
    raw: str, *, issuer: str, client_id: str, nonce: str, jwks_uri: str, algorithms: list[str]
) -> dict[str, Any]:
    """The ID token's claims once its signature (a key of the issuer's JWKS), issuer,
    audience (and authorized party), expiry and nonce all check; IdTokenInvalid saying which
    did not."""
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError as exc:
        raise IdTokenInvalid("The ID token is malformed.") from exc
    if header.get("alg") not in algorithms:
        raise IdTokenInvalid(f"The ID token is signed with {header.get('alg')!r}, not accepted.")
    keys = jwks_keys(jwks_uri, algorithms=algorithms)
    key = keys.get(header.get("kid")) or (next(iter(keys.values())) if len(keys) == 1 else None)
    if key is None:
        raise IdTokenInvalid("The ID token is signed with a key the issuer does not publish.")
    try:
        claims: dict[str, Any] = jwt.decode(
            raw,
            key=key,
            algorithms=algorithms,
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.InvalidSignatureError as exc:
        raise IdTokenInvalid("The ID token's signature does not verify.") from exc
    except jwt.ExpiredSignatureError as exc:
        raise IdTokenInvalid("The ID token has expired.") from exc
    except jwt.InvalidIssuerError as exc:
        raise IdTokenInvalid("The ID token is from another issuer.") from exc
    except jwt.InvalidAudienceError as exc:
        raise IdTokenInvalid("The ID token is for another client (audience).") from exc
    except jwt.PyJWTError as exc:
        raise IdTokenInvalid(f"The ID token is not valid ({exc}).") from exc
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise IdTokenInvalid("The ID token was issued to another party (azp).")
    if not isinstance(claims.get("nonce"), str) or not _same(claims["nonce"], nonce):
        raise IdTokenInvalid("The ID token's nonce is not this login's.")
    return claims


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
