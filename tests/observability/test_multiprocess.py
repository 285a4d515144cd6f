"""Several gunicorn workers, one /metrics: every worker's requests are in each scrape."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.observability import METRICS_TOKEN
from tests.support.processes import REPO, free_port, subprocess_env


@pytest.mark.slow
@pytest.mark.usefixtures("db")
def test_scrape_sums_the_requests_of_every_worker(tmp_path: Path) -> None:
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    (metrics_dir).mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"stale")  # an earlier run's leftovers
    env = subprocess_env(
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        METRICS_TOKEN=METRICS_TOKEN,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:saas.observability.gunicorn_conf",
            "config.wsgi",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        for _ in range(20):
            response = requests.get(
                f"{url}/api/v1/plans/", headers={"Host": "localhost"}, timeout=5
            )
            assert response.status_code == 200
        pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
        scrapes = [
            requests.get(
                f"{url}/metrics",
                headers={"Host": "localhost", "Authorization": f"Bearer {METRICS_TOKEN}"},
                timeout=5,
            ).text
            for _ in range(4)
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    line = 'saas_http_requests_total{method="GET",route="/api/v1/plans/",status="200"} 20.0'
    for text in scrapes:  # whichever worker answered the scrape
        assert line in text
    assert pids  # the counts live in the shared directory, not in one worker's memory
    assert "99999" not in pids  # the stale file was cleared at start
