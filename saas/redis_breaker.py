"""A hung Redis costs one timeout per process, not one per call.

Redis that is down refuses connections at once, and every caller already falls back (the
cache ignores its errors, throttles fail open). Redis that hangs (overloaded, paused, a
network path that drops packets) accepts and never answers: each call then waits its full
socket timeout, and a request makes several (host resolution, access cache, throttles, rate
limit), so every request would pay seconds. After a call times out, this connection class
fails every call of the process at once, as if Redis were down, for `breaker_seconds`; the
first call after that tries Redis again (and trips the breaker again if it still hangs).

Used as the django-redis pool class (config/settings/base.py), so the Django cache and
everything on `get_redis_connection` share it.
"""

import threading
import time
from typing import Any

from redis.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class _Breaker:
    def __init__(self) -> None:
        self._open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self, seconds: float) -> None:
        with self._lock:
            self._open_until = max(self._open_until, time.monotonic() + seconds)

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


breaker = _Breaker()


class _BreakerMixin(AbstractConnection):
    """Trips the process's breaker when Redis times out, and refuses to touch the network
    while it is open."""

    def __init__(self, *args: Any, breaker_seconds: float = 5.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breaker_seconds = breaker_seconds

    def _refuse_while_open(self) -> None:
        if breaker.is_open():
            # A ConnectionError, as for a Redis that is down: callers handle it already.
            raise RedisConnectionError("Redis timed out recently; not trying it yet")

    def connect(self) -> None:
        self._refuse_while_open()
        try:
            super().connect()
        except RedisTimeoutError:
            breaker.trip(self.breaker_seconds)
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._refuse_while_open()
        try:
            super().send_packed_command(command, check_health)
        except RedisTimeoutError:
            breaker.trip(self.breaker_seconds)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        except RedisTimeoutError:
            breaker.trip(self.breaker_seconds)
            raise


class BreakerConnection(_BreakerMixin, Connection):
    pass


class BreakerSSLConnection(_BreakerMixin, SSLConnection):
    pass


class BreakerUnixConnection(_BreakerMixin, UnixDomainSocketConnection):
    pass


_BREAKER_CLASSES: dict[type, type] = {
    Connection: BreakerConnection,
    SSLConnection: BreakerSSLConnection,
    UnixDomainSocketConnection: BreakerUnixConnection,
}


class BreakerConnectionPool(ConnectionPool):
    """A connection pool whose connections are the breaker's kind of the one redis-py picks
    from each URL's scheme (redis://, rediss://, unix://): so the pool of any URL, the
    settings' or one a test or an operator points the cache at, trips the breaker."""

    def __init__(
        self, connection_class: type[AbstractConnection] = Connection, **kwargs: Any
    ) -> None:
        breaker_class = _BREAKER_CLASSES.get(connection_class, connection_class)
        super().__init__(connection_class=breaker_class, **kwargs)
