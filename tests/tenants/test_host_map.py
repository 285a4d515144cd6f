"""The per-process host map (tenants.resolution): when full it drops the host used least
recently, not the one cached first, so the hosts taking traffic stay cached; it counts its
hits, misses and evictions (bench/ops_scale.py reports them). No database: the map keeps
whatever the lookup returned, here plain objects."""

from typing import Any

from tenants import resolution
from tenants.resolution import _MISSING, _HostMap

GENERATION = 1


def _resolve(hosts: _HostMap, host: str, tenant: Any) -> None:
    """What tenant_for_host does: look the host up and, on a miss, cache the database's answer."""
    if hosts.get(GENERATION, host) is _MISSING:
        hosts.put(GENERATION, host, tenant)


def test_a_host_in_use_survives_inserts_past_capacity() -> None:
    hosts = _HostMap(capacity=3)
    hot: Any = object()
    _resolve(hosts, "hot.localhost", hot)
    for i in range(10):
        _resolve(hosts, f"cold{i}.localhost", object())
        # Each hit makes it the most recently used, so the inserts push out cold hosts only
        # (first in, first out would drop it once three hosts came after it).
        assert hosts.get(GENERATION, "hot.localhost") is hot, f"evicted after cold{i}"
    assert list(hosts.hosts) == ["cold8.localhost", "cold9.localhost", "hot.localhost"]


def test_an_unknown_host_is_cached_as_none() -> None:
    hosts = _HostMap(capacity=3)
    _resolve(hosts, "nobody.localhost", None)
    assert hosts.get(GENERATION, "nobody.localhost") is None


def test_stats_count_hits_misses_and_evictions() -> None:
    hosts = _HostMap(capacity=2)
    _resolve(hosts, "a.localhost", object())
    assert hosts.get(GENERATION, "a.localhost") is not _MISSING
    _resolve(hosts, "b.localhost", object())
    _resolve(hosts, "c.localhost", object())  # full: a, the least recently used, goes
    assert hosts.get(GENERATION, "a.localhost") is _MISSING

    assert hosts.stats() == {
        "size": 2,
        "capacity": 2,
        "hits": 1,
        "misses": 4,
        "evictions": 1,
        "hit_rate": 0.2,
    }


def test_a_new_generation_empties_the_map_and_keeps_the_counts() -> None:
    hosts = _HostMap(capacity=3)
    tenant: Any = object()
    _resolve(hosts, "a.localhost", tenant)
    assert hosts.get(GENERATION, "a.localhost") is tenant

    assert hosts.get(GENERATION + 1, "a.localhost") is _MISSING  # a tenant changed somewhere
    hosts.put(GENERATION, "a.localhost", None)  # read before the change: not cached
    assert hosts.get(GENERATION + 1, "a.localhost") is _MISSING

    # Emptying on a new generation is not an eviction; the counts are the process's.
    assert hosts.stats() == {
        "size": 0,
        "capacity": 3,
        "hits": 1,
        "misses": 3,
        "evictions": 0,
        "hit_rate": 0.25,
    }


def test_tenant_for_host_reads_the_database_once_per_host(monkeypatch) -> None:
    acme: Any = object()
    looked_up: list[str] = []

    def lookup(*, host: str) -> Any:
        looked_up.append(host)
        return {"acme.localhost": acme}.get(host)

    monkeypatch.setattr(resolution, "tenant_get_for_host", lookup)
    monkeypatch.setattr(resolution, "_host_map", _HostMap(capacity=10))
    for _ in range(3):
        assert resolution.tenant_for_host("acme.localhost", generation=7) is acme
        assert resolution.tenant_for_host("nobody.localhost", generation=7) is None

    assert looked_up == ["acme.localhost", "nobody.localhost"]
    stats = resolution.host_map_stats()
    assert (stats["size"], stats["hits"], stats["misses"], stats["hit_rate"]) == (2, 4, 2, 0.6667)


def test_capacity_comes_from_the_setting(settings) -> None:
    settings.TENANT_HOST_MAP_SIZE = 5
    hosts = _HostMap()
    for i in range(8):
        _resolve(hosts, f"t{i}.localhost", object())
    assert hosts.stats()["capacity"] == 5
    assert len(hosts.hosts) == 5
