"""django-tenants' own tenant commands cannot make half a tenant.

Its create_tenant, clone_tenant, delete_tenant, delete_domain, rename_schema and
create_tenant_superuser write tenant rows, domains, schemas or users outside our services
(rows + billing account + schema clone + owner in one transaction; archive before purge).
tenants/management/commands replaces create_tenant with one that goes through those services
and refuses the others in one line that names what to use instead. Every test checks the
database afterwards: tenant rows, domains, billing accounts, owners and tenant schemas.
"""

from collections.abc import Callable
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.db import connection

from accounts.models import Membership, Role, User
from billing.models import BillingAccount
from tenants.models import Domain, Tenant, TenantStatus
from tests.factories import PASSWORD, make_user
from tests.support.processes import saas_cli

GUARDED = (
    "create_tenant",
    "clone_tenant",
    "delete_tenant",
    "delete_domain",
    "rename_schema",
    "create_tenant_superuser",
)


def tenant_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
        return {row[0] for row in cursor.fetchall()}


def tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        )
        return {row[0] for row in cursor.fetchall()}


def snapshot() -> dict[str, object]:
    """Everything a half tenant would leave behind, to compare before and after."""
    return {
        "tenants": sorted(Tenant.objects.values_list("slug", "schema_name", "status")),
        "domains": sorted(Domain.objects.values_list("domain", "tenant__slug", "is_primary")),
        "billing": sorted(BillingAccount.objects.values_list("tenant__slug", flat=True)),
        "memberships": sorted(Membership.objects.values_list("tenant__slug", "user__email")),
        "users": sorted(User.objects.values_list("email", flat=True)),
        "schemas": tenant_schemas(),
    }


def assert_whole(tenant: Tenant, owner_email: str) -> None:
    """A tenant as signup makes it: active, its domain, billing account, owner and schema."""
    assert tenant.status == TenantStatus.ACTIVE
    domain = Domain.objects.get(tenant=tenant)
    assert domain.is_primary
    assert domain.domain.startswith(f"{tenant.slug}.")
    assert BillingAccount.objects.filter(tenant=tenant).exists()
    owner = Membership.objects.get(tenant=tenant, role=Role.OWNER)
    assert owner.user.email == owner_email
    assert {"workspace_project", "workspace_task", "django_migrations"} <= tables_in(
        tenant.schema_name
    )


def test_our_commands_win_over_django_tenants(db: None) -> None:
    """tenant_command and all_tenants_command find commands through get_commands() too."""
    commands = get_commands()

    assert {name: commands[name] for name in GUARDED} == dict.fromkeys(GUARDED, "tenants")


# create_tenant: through tenants.services, whole or nothing.


def test_create_tenant_makes_a_whole_tenant_with_a_new_owner(db: None) -> None:
    out = StringIO()

    call_command(
        "create_tenant",
        slug="acme",
        name="Acme",
        owner_email="owner@acme.test",
        owner_password=PASSWORD,
        stdout=out,
    )

    tenant = Tenant.objects.get(slug="acme")
    assert tenant.name == "Acme"
    assert_whole(tenant, "owner@acme.test")
    assert User.objects.get(email="owner@acme.test").check_password(PASSWORD)
    assert "acme." in out.getvalue()
    assert "owner@acme.test" in out.getvalue()


def test_create_tenant_makes_an_existing_user_the_owner(db: None) -> None:
    user = make_user(email="ada@example.test")

    call_command(
        "create_tenant", "--slug=globex", "--name=Globex", "--owner-email=ADA@example.test",
        stdout=StringIO(),
    )  # fmt: skip

    tenant = Tenant.objects.get(slug="globex")
    assert_whole(tenant, "ada@example.test")
    assert Membership.objects.get(tenant=tenant).user == user
    assert User.objects.count() == 1


HALF = {"slug": "half", "name": "Half", "owner_email": "o@half.test", "owner_password": PASSWORD}


def without(key: str) -> dict[str, object]:
    return {name: value for name, value in HALF.items() if name != key}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # django-tenants' own way: the schema and domain are ours to derive from the slug.
        (
            {
                "schema_name": "t_half",
                "name": "Half",
                "slug": "half",
                "domain_domain": "half.localhost",
                "interactive": False,
            },
            "follow the slug",
        ),
        (without("owner_email"), "--owner-email"),
        (without("slug"), "--slug"),
        (without("name"), "--name"),
        ({**without("owner_password"), "owner_email": "new@half.test"}, "password"),
        ({**HALF, "owner_password": "1"}, "too weak"),
        ({**HALF, "slug": "Half!"}, "Slug must be"),
        ({**HALF, "owner_email": "not-an-email"}, "email"),
    ],
)
def test_create_tenant_refuses_in_one_line_and_makes_nothing(
    db: None, options: dict[str, object], message: str
) -> None:
    before = snapshot()

    with pytest.raises(CommandError) as refused:
        call_command("create_tenant", stdout=StringIO(), stderr=StringIO(), **options)

    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert snapshot() == before


def test_create_tenant_on_a_taken_slug_makes_nothing(make_tenant) -> None:
    make_tenant("acme")
    before = snapshot()

    with pytest.raises(CommandError, match="slug is taken"):
        call_command(
            "create_tenant",
            slug="acme",
            name="Acme again",
            owner_email="new@acme.test",
            owner_password=PASSWORD,
            stdout=StringIO(),
        )

    assert snapshot() == before


def test_a_failure_after_the_schema_is_cloned_leaves_nothing(db: None) -> None:
    """The owner's membership is the last write: failing there rolls back the user, the
    tenant row, its domain, its billing account and its cloned schema."""
    before = snapshot()

    with (
        mock.patch("tenants.organizations.membership_create", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError, match="boom"),
    ):
        call_command(
            "create_tenant",
            slug="acme",
            name="Acme",
            owner_email="owner@acme.test",
            owner_password=PASSWORD,
            stdout=StringIO(),
        )

    assert snapshot() == before


# The others: refused in one line naming what to use instead; nothing changes.

REFUSALS: list[tuple[str, Callable[[Tenant], dict[str, object]], str]] = [
    (
        "delete_tenant",
        lambda t: {"schema_name": t.schema_name, "interactive": False},
        "saas manage tenant_delete",
    ),
    (
        "clone_tenant",
        lambda t: {
            "clone_from": t.schema_name,
            "clone_tenant_fields": "yes",
            "schema_name": "t_copy",
        },
        "saas manage create_tenant",
    ),
    (
        "rename_schema",
        lambda t: {"rename_from": t.schema_name, "rename_to": "t_renamed"},
        "saas manage create_tenant",
    ),
    (
        "delete_domain",
        lambda t: {
            "schema_name": t.schema_name,
            "domain_domain": t.domains.get().domain,
            "interactive": False,
        },
        "saas manage tenant_delete",
    ),
    (
        "create_tenant_superuser",
        lambda t: {"schema_name": t.schema_name, "email": "root@acme.test", "interactive": False},
        "saas manage createsuperuser",
    ),
]


@pytest.mark.parametrize(("command", "options", "instead"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_django_tenants_commands_are_refused_and_change_nothing(
    make_tenant, command: str, options: Callable[[Tenant], dict[str, object]], instead: str
) -> None:
    tenant = make_tenant("acme")
    before = snapshot()

    with pytest.raises(CommandError) as refused:
        call_command(command, stdout=StringIO(), stderr=StringIO(), **options(tenant))

    assert instead in str(refused.value)
    assert command in str(refused.value)
    assert "\n" not in str(refused.value)
    assert snapshot() == before
    assert tenant.schema_name in before["schemas"]  # type: ignore[operator]


def test_the_per_tenant_wrappers_reach_the_refusal(make_tenant) -> None:
    """all_tenants_command and tenant_command run the command get_commands() names: ours."""
    tenant = make_tenant("acme")
    before = snapshot()

    with pytest.raises(CommandError, match="saas manage tenant_delete"):
        call_command("all_tenants_command", "delete_tenant", stdout=StringIO())
    with pytest.raises(CommandError, match="saas manage tenant_delete"):
        call_command(
            "tenant_command", "delete_tenant", schema_name=tenant.schema_name, stdout=StringIO()
        )

    assert snapshot() == before


# The same through `saas manage`, as an operator types it.


def test_saas_manage_refuses_django_tenants_create_tenant_in_one_line(committed: None) -> None:
    before = snapshot()

    result = saas_cli(
        "manage", "create_tenant", "--schema_name=t_half", "--name=Half", "--slug=half",
        "--domain-domain=half.localhost", "--noinput",
    )  # fmt: skip

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("CommandError: "), result.stderr
    assert "follow the slug" in last
    assert snapshot() == before


def test_saas_manage_refuses_delete_tenant_and_create_tenant_makes_a_whole_one(
    committed: None,
) -> None:
    made = saas_cli(
        "manage", "create_tenant", "--slug=acme", "--name=Acme",
        "--owner-email=owner@acme.test", f"--owner-password={PASSWORD}",
        CELERY_TASK_ALWAYS_EAGER="1",  # the Stripe customer task runs here, not in a queue
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    tenant = Tenant.objects.get(slug="acme")
    assert_whole(tenant, "owner@acme.test")
    before = snapshot()

    deleted = saas_cli("manage", "delete_tenant", f"--schema={tenant.schema_name}", "--noinput")

    assert deleted.returncode == 1, deleted.stdout + deleted.stderr
    assert "Traceback" not in deleted.stderr
    last = deleted.stderr.strip().splitlines()[-1]
    assert "saas manage tenant_delete" in last
    assert snapshot() == before
