"""django-tenants' PostgreSQL backend, with `SET search_path` sent only when a request needs a
search path its connection does not have, and Django's per-request connection health check
without a `SELECT 1` round trip.

django-tenants forgets the connection's search path whenever a schema is selected (once per
request, tenants.middleware), so every request's first cursor sends `SET search_path` again.
It already tracks what can undo a SET: a rollback or a savepoint rollback (a SET is
transactional in PostgreSQL) and a closed connection forget it, and raw SQL that changes it
calls tenants.db.search_path_reset. So a path it knows is the connection's path; here
selecting the same schema again keeps it, and a worker serving one tenant (or the public
host, Stripe's webhooks) after another request of the same one sends no SET at all.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before a reused connection's first query of each
request: one more round trip per request. Here:
- when the request's first cursor sends `SET search_path`, that SET is the check: if the
  server went away since the last request (a restart, an idle timeout, a terminated backend),
  it fails and the cursor is opened again on a new connection;
- when it sends none, the connection's socket is polled (no round trip): a server that ends a
  connection says so (an error, then end of file), which makes the idle socket readable. Only
  then does Django's `SELECT 1` run, and a dead connection is replaced.
Inside a transaction nothing can be retried, with either check: the transaction fails, as it
would with Django's."""

import select
from typing import Any

from django.core.exceptions import ValidationError
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_limit_set_calls


def _unread_input(connection: Any) -> bool:
    """Whether the server sent anything on this idle connection (or it cannot be polled)."""
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    except (OSError, ValueError, AttributeError):  # closed, or not a socket we can poll
        return True
    return bool(poller.poll(0))


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._search_path_checks = False  # this cursor's SET search_path is the health check
        super().__init__(*args, **kwargs)

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        known = self.search_path_set_schemas  # type: ignore[has-type]  # django-tenants' own
        super().set_tenant(tenant, include_public)  # forgets the connection's path
        if known is None or self.connection is None:
            return
        try:
            wanted = self._get_cursor_search_paths()
        except ValidationError:  # a bad schema name: the next cursor raises it, as before
            return
        if wanted == known:
            self.search_path_set_schemas = known  # the connection has this path already

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is None
            or not self.health_check_enabled
            or self.health_check_done  # type: ignore[has-type]  # set in Django's __init__
            or self.in_atomic_block
        ):
            super().close_if_health_check_failed()
            return
        if not (get_limit_set_calls() and self.search_path_set_schemas):
            self._search_path_checks = True  # this cursor sends SET search_path: the check
            self.health_check_done = True
            return
        if not _unread_input(self.connection):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()  # SELECT 1; a dead connection is closed

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
