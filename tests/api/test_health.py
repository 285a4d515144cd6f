"""/healthz and /readyz, on any host (load balancers probe by IP)."""


def test_healthz_answers_on_any_host(db, client_for) -> None:
    client = client_for(None)
    for host in ("localhost", "10.0.0.7", "unknown.localhost"):
        assert client.get("/healthz", HTTP_HOST=host).json() == {"status": "ok"}


def test_readyz_reports_database_and_redis(db, client_for) -> None:
    response = client_for(None).get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(start_server) -> None:
    server = start_server(DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")

    response = server.get("/readyz", host="localhost")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unreachable", "redis": "ok"}
    assert server.get("/healthz", host="localhost").status_code == 200


def test_readyz_is_degraded_but_ready_when_only_redis_is_unreachable(db, start_server) -> None:
    server = start_server(REDIS_URL="redis://127.0.0.1:1/0")
    response = server.get("/readyz", host="localhost")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "unreachable"},
    }
