"""Bodies of the MFA endpoints and of the login's second step."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from api.serializers import StrictSerializer


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


class LoginMfaInput(StrictSerializer):
    mfa_token = serializers.CharField(max_length=200, help_text="The login's `mfa_token`.")
    code = serializers.CharField(
        max_length=32,
        help_text="The authenticator app's current 6-digit code, or an unused recovery code.",
    )


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
