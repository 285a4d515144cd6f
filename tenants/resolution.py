"""Host -> tenant without a database query per request.

Each process keeps a small map of host -> tenant, valid for one "generation". The generation
is a counter in the shared cache (Redis), bumped after any tenant or domain change commits, so
every process drops its map on its next request: correct across processes and machines at the
cost of one Redis GET per request. If Redis is down the generation is unknown and every request
reads the database: slower, never stale.
"""

import threading
import time
from collections import OrderedDict
from typing import Any

from django.core.cache import cache

from .models import Tenant
from .selectors import tenant_get_for_host

GENERATION_KEY = "tenants:generation"
_MAX_HOSTS = 10_000
_MISSING = object()


class _HostMap:
    def __init__(self) -> None:
        self.generation: int | None = None
        self.hosts: OrderedDict[str, Tenant | None] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, generation: int, host: str) -> object:
        with self.lock:
            if generation != self.generation:
                self.generation, self.hosts = generation, OrderedDict()
                return _MISSING
            return self.hosts.get(host, _MISSING)

    def put(self, generation: int, host: str, tenant: Tenant | None) -> None:
        with self.lock:
            if generation != self.generation:
                return  # invalidated while we were reading the database
            self.hosts[host] = tenant
            if len(self.hosts) > _MAX_HOSTS:
                self.hosts.popitem(last=False)


_host_map = _HostMap()


def _current_generation() -> int | None:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        # First use, or Redis lost its data: start a new generation. A restart from 1 could
        # meet a process still holding generation 1's map, so start from the clock instead.
        # add() keeps a concurrent writer's value; if Redis is unreachable, get() stays None
        # and we skip caching.
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


GENERATION_UNREAD: Any = object()


def generation_cache_key() -> str:
    """The generation's key as stored in Redis (api.prefetch reads it with its own script)."""
    return str(cache.make_key(GENERATION_KEY))


def tenant_for_host(host: str, *, generation: Any = GENERATION_UNREAD) -> Tenant | None:
    """`generation`: the current generation when the caller has read it already (api.prefetch,
    in the request's one Redis round trip; None there means no generation yet)."""
    if generation is GENERATION_UNREAD or generation is None:
        generation = _current_generation()
    if generation is None:
        return tenant_get_for_host(host=host)
    cached = _host_map.get(generation, host)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    tenant = tenant_get_for_host(host=host)
    _host_map.put(generation, host, tenant)
    return tenant


def tenant_cache_invalidate() -> None:
    """Called after a tenant or domain change commits."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # key missing (Redis restarted or flushed): start a new generation
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
