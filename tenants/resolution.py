"""Host -> tenant without a database query per request.

Each process keeps a map of host -> tenant, valid for one "generation" and bounded
(TENANT_HOST_MAP_SIZE hosts, the least recently used dropped first). The generation
is a counter in the shared cache (Redis), bumped after any tenant or domain change commits, so
every process drops its map on its next request: correct across processes and machines at the
cost of one Redis GET per request. If Redis is down the generation is unknown and every request
reads the database: slower, never stale.
"""

import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from .models import Tenant
from .selectors import tenant_get_for_host

GENERATION_KEY = "tenants:generation"
# Hosts kept per process when settings.TENANT_HOST_MAP_SIZE is not set.
_MAX_HOSTS = 10_000
_MISSING = object()


class _HostMap:
    """host -> Tenant (or None: no such host), least recently used first, at most `capacity`
    hosts. With more tenants than that, a worker still keeps the hosts taking its traffic: a
    hit moves the host to the end, so the inserts of rarely seen hosts push out other rarely
    seen hosts (first in, first out would drop the busiest host every `capacity` inserts).
    Hits, misses and evictions are counted for this process (host_map_stats)."""

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is None:
            capacity = getattr(settings, "TENANT_HOST_MAP_SIZE", _MAX_HOSTS)
        if capacity < 1:
            raise ImproperlyConfigured("TENANT_HOST_MAP_SIZE must be at least 1")
        self.capacity = capacity
        self.generation: int | None = None
        self.hosts: OrderedDict[str, Tenant | None] = OrderedDict()
        self.lock = threading.Lock()
        # Plain ints under the lock: a counter per lookup costs nothing next to a Redis GET.
        self.hits = self.misses = self.evictions = 0

    def get(self, generation: int, host: str) -> object:
        with self.lock:
            if generation != self.generation:
                self.generation, self.hosts = generation, OrderedDict()
                self.misses += 1
                return _MISSING
            cached = self.hosts.get(host, _MISSING)
            if cached is _MISSING:
                self.misses += 1
            else:
                self.hits += 1
                self.hosts.move_to_end(host)  # O(1): a linked-list relink, no copy
            return cached

    def put(self, generation: int, host: str, tenant: Tenant | None) -> None:
        with self.lock:
            if generation != self.generation:
                return  # invalidated while we were reading the database
            self.hosts[host] = tenant
            self.hosts.move_to_end(host)  # another thread may have cached it meanwhile
            if len(self.hosts) > self.capacity:
                self.hosts.popitem(last=False)
                self.evictions += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            lookups = self.hits + self.misses
            return {
                "size": len(self.hosts),
                "capacity": self.capacity,
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
                "hit_rate": round(self.hits / lookups, 4) if lookups else 0.0,
            }


_host_map = _HostMap()


def host_map_stats() -> dict[str, Any]:
    """This process's host map: size, capacity, and its hits, misses and evictions since the
    process started (emptying it on a new generation is not an eviction)."""
    return _host_map.stats()


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
    """The generation's key as stored in Redis (accounts.prefetch reads it with its own script)."""
    return str(cache.make_key(GENERATION_KEY))


def tenant_for_host(host: str, *, generation: Any = GENERATION_UNREAD) -> Tenant | None:
    """`generation`: the current generation when the caller has read it already (accounts.prefetch,
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
