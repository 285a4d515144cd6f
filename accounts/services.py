"""Writes for users and memberships. Each runs inside the caller's transaction or its own."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from saas.errors import Conflict, InvalidInput

from .models import Membership, Role, User


def user_create(*, email: str, password: str, full_name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    candidate = User(email=email, full_name=full_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidInput(
            "Password is too weak.",
            code="weak_password",
            extra={"fields": {"password": exc.messages}},
        ) from exc
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(
            "A user with this email already exists.",
            code="email_taken",
            extra={"fields": {"email": ["Already registered."]}},
        )
    with transaction.atomic():
        return User.objects.create_user(email=email, password=password, full_name=full_name)


def membership_create(*, user: User, tenant_id: int, role: str = Role.MEMBER) -> Membership:
    return Membership.objects.create(user=user, tenant_id=tenant_id, role=role)
