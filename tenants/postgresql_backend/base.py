"""django-tenants' PostgreSQL backend, with Django's per-request connection health check
folded into the `SET search_path` that opens every request's first cursor.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before a reused connection's first query of each
request: one more round trip per request. Here every request selects its schema
(tenants.middleware), so its first cursor sends `SET search_path` anyway
(TENANT_LIMIT_SET_CALLS). If the server went away since the last request (a restart, an idle
timeout, a terminated backend), that SET finds out, and the cursor is opened again on a new
connection: the same guarantee without the extra round trip. Inside a transaction nothing can
be retried, with either check: the transaction fails, as it would with Django's."""

from typing import Any

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_limit_set_calls


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._search_path_checks = False  # this cursor's SET search_path is the health check

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done  # type: ignore[has-type]  # set in Django's __init__
            and not self.in_atomic_block
            and not (get_limit_set_calls() and self.search_path_set_schemas)
        ):
            self._search_path_checks = True
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _cursor(self, name: str | None = None) -> Any:
        self._search_path_checks = False
        cursor = super()._cursor(name=name)
        checked, self._search_path_checks = self._search_path_checks, False
        # django-tenants swallows a failed SET (search_path_set_schemas stays None); only
        # then is the connection asked whether it is still there.
        if checked and self.search_path_set_schemas is None and not self.is_usable():
            cursor.close()
            self.close()
            cursor = super()._cursor(name=name)  # a new connection: connect() counts as checked
        return cursor
