"""Bodies of the MFA endpoints and of the login's second step."""

import json
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import StrictSerializer

# What a browser's PublicKeyCredential.toJSON() (or the same built by hand) looks like: the
# enrollment's attestation (response.clientDataJSON, response.attestationObject) or the
# login's assertion (response.clientDataJSON, response.authenticatorData,
# response.signature, response.userHandle), binary values base64url.
_BASE64URL = "^[A-Za-z0-9_-]*$"
_CREDENTIAL_SCHEMA = {
    "type": "object",
    "description": "The browser's PublicKeyCredential as JSON (`credential.toJSON()`), "
    "binary values base64url-encoded.",
    "properties": {
        "id": {"type": "string", "pattern": _BASE64URL},
        "rawId": {"type": "string", "pattern": _BASE64URL},
        "type": {"type": "string", "enum": ["public-key"]},
        "authenticatorAttachment": {
            "type": "string",
            "enum": ["platform", "cross-platform"],
            "nullable": True,
        },
        "response": {"type": "object", "additionalProperties": True},
        "clientExtensionResults": {"type": "object", "additionalProperties": True},
    },
    "required": ["id", "rawId", "type", "response"],
    "additionalProperties": True,
}
_MAX_CREDENTIAL_BYTES = 16_384
_OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "description": '`{"publicKey": {...}}`: the options for '
    "`navigator.credentials.create()`/`.get()`, binary values base64url-encoded "
    "(`PublicKeyCredential.parseCreationOptionsFromJSON()` / "
    "`parseRequestOptionsFromJSON()` read them).",
}


@extend_schema_field(_CREDENTIAL_SCHEMA)
class CredentialJsonField(serializers.JSONField):
    """A JSON object of bounded size; fido2 checks the rest (a bad one is the service's
    refusal, never a 500)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        value = super().to_internal_value(data)
        if len(json.dumps(value)) > _MAX_CREDENTIAL_BYTES:
            raise serializers.ValidationError("Too large.")
        return value


@extend_schema_field(_OPTIONS_SCHEMA)
class OptionsJsonField(serializers.JSONField):
    pass


class MfaChallengeOutput(serializers.Serializer):
    """The login's answer (202) for an account with a second factor."""

    mfa_required = serializers.BooleanField(help_text="Always true: send a code next.")
    mfa_token = serializers.CharField(
        help_text="For `POST auth/login/mfa/` on this host only; works once."
    )
    expires_in = serializers.IntegerField(help_text="Seconds the token stays valid.")
    methods = serializers.ListField(
        child=serializers.CharField(), help_text="What `code` may be: `totp`, `recovery_code`."
    )
    types = serializers.ListField(
        child=serializers.CharField(),
        help_text="The second factors this account can use on this host: `totp`, "
        "`webauthn` (send `webauthn`, the browser's assertion for the options below), "
        "`recovery_codes`.",
    )
    webauthn = OptionsJsonField(
        allow_null=True,
        help_text="With a security key enrolled on this host: the "
        'PublicKeyCredentialRequestOptions of this challenge (`{"publicKey": {...}}`), '
        "for `navigator.credentials.get()`. Null otherwise.",
    )


class LoginMfaInput(StrictSerializer):
    """The challenge and exactly one second factor: a `code`, or a security key's
    `webauthn` assertion."""

    mfa_token = serializers.CharField(max_length=200, help_text="The login's `mfa_token`.")
    code = serializers.CharField(
        max_length=32,
        required=False,
        help_text="The authenticator app's current 6-digit code, or an unused recovery code.",
    )
    webauthn = CredentialJsonField(
        required=False,
        help_text="The browser's answer to the challenge's `webauthn` options "
        "(`navigator.credentials.get()`, as JSON).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("code" in attrs) == ("webauthn" in attrs):
            raise serializers.ValidationError(
                {"code": ["Send either a code or a security key's `webauthn` answer."]}
            )
        return {
            "mfa_token": attrs["mfa_token"],
            "code": attrs.get("code", ""),
            "webauthn": attrs.get("webauthn"),
        }


class CodeOrPasswordInput(StrictSerializer):
    """Proof that the caller holds the account: a current code (TOTP or a recovery code,
    spent) or the password; exactly one."""

    code = serializers.CharField(max_length=32, required=False, allow_blank=False)
    password = serializers.CharField(
        max_length=128, required=False, allow_blank=False, trim_whitespace=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("code")) == bool(attrs.get("password")):
            raise serializers.ValidationError(
                {"code": ["Send either a current code or your password."]}
            )
        return {"code": attrs.get("code", ""), "password": attrs.get("password", "")}


class TotpConfirmInput(StrictSerializer):
    code = serializers.CharField(
        max_length=32, help_text="The code the authenticator app shows for the new secret."
    )


class TotpSetupOutput(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32; shown this once.")
    otpauth_uri = serializers.CharField(help_text="For a QR code; shown this once.")
    expires_in = serializers.IntegerField(help_text="Seconds left to confirm it.")


class RecoveryCodesOutput(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each works once in place of a code. Shown this once: never again.",
    )


class TotpStatusOutput(serializers.Serializer):
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class RecoveryCodesStatusOutput(serializers.Serializer):
    total = serializers.IntegerField()
    unused = serializers.IntegerField()


class MfaStatusOutput(serializers.Serializer):
    enrolled = serializers.BooleanField(help_text="A second factor is set up.")
    totp = TotpStatusOutput(allow_null=True)
    recovery_codes = RecoveryCodesStatusOutput(allow_null=True)
    required_by_policy = serializers.BooleanField(
        help_text="This organization's policy requires a second factor of your role."
    )
    logged_in_with_mfa = serializers.BooleanField(help_text="This session's login used one.")


class MfaPolicyInput(StrictSerializer):
    require_for_admins = serializers.BooleanField(
        help_text="Owners and admins must log in with a second factor."
    )

    def to_internal_value(self, data: Any) -> Any:
        # JSON true or false only: DRF also takes 0, 1, "yes", "off"..., which the schema
        # (a boolean) says are refused, and a security setting should not be guessed at.
        bad = (
            isinstance(data, Mapping)
            and "require_for_admins" in data
            and not isinstance(data["require_for_admins"], bool)
        )
        refusal = {"require_for_admins": ["Must be true or false."]}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if bad and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **refusal}) from exc
            raise
        if bad:
            raise serializers.ValidationError(refusal)
        return value


class MfaPolicyOutput(serializers.Serializer):
    require_for_admins = serializers.BooleanField()


class WebauthnRegisterInput(StrictSerializer):
    passkey = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A passkey: the key keeps the credential (resident key) and verifies the "
        "person (PIN, biometrics). Otherwise a security key as a second factor.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if (
            isinstance(data, Mapping)
            and "passkey" in data
            and not isinstance(data["passkey"], bool)
        ):
            raise serializers.ValidationError({"passkey": ["Must be true or false."]})
        return super().to_internal_value(data)


class WebauthnRegisterOutput(serializers.Serializer):
    options = OptionsJsonField(
        help_text='PublicKeyCredentialCreationOptions (`{"publicKey": {...}}`) for '
        "`navigator.credentials.create()`."
    )
    expires_in = serializers.IntegerField(help_text="Seconds left to complete it.")


class WebauthnKeyOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField()
    passkey = serializers.SerializerMethodField(
        help_text="The browser said the key keeps the credential (a resident key)."
    )
    rp_id = serializers.SerializerMethodField(help_text="The host the key works on.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)

    def get_name(self, key: Any) -> str:
        return str(key.data.get("name", ""))

    def get_passkey(self, key: Any) -> bool:
        rk = key.data.get("credential", {}).get("clientExtensionResults", {})
        return bool((rk.get("credProps") or {}).get("rk"))

    def get_rp_id(self, key: Any) -> str:
        return str(key.data.get("rp_id", ""))


class WebauthnCompleteInput(StrictSerializer):
    name = serializers.CharField(
        max_length=64, help_text='What to call the key ("YubiKey", "Laptop").'
    )
    credential = CredentialJsonField(
        help_text="The browser's answer to the options (`navigator.credentials.create()`, as JSON)."
    )


class WebauthnCompleteOutput(serializers.Serializer):
    key = WebauthnKeyOutput()
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Made with the first second factor, shown this once (empty otherwise).",
    )


class WebauthnRenameInput(StrictSerializer):
    """A PATCH: what is sent changes (only the name can), nothing sent changes nothing."""

    name = serializers.CharField(max_length=64, required=False)
