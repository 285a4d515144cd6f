from .models import Membership


def membership_get(*, user_id: int, tenant_id: int) -> Membership | None:
    return Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).first()
