"""The operations files parse and hang together (no `docker compose` on this machine: the
YAML is read with PyYAML, anchors and merge keys resolved as Compose does)."""

import json
import re
from typing import Any

import yaml

from tests.support.processes import REPO

OPS = REPO / "ops"


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def test_compose_has_the_stack_monitoring_and_scale_profile() -> None:
    services = compose()["services"]
    for name in ("postgres", "redis", "migrate", "web", "worker", "beat", "prometheus", "grafana"):
        assert "profiles" not in services[name], name
    scaled = {name for name, s in services.items() if "scale" in s.get("profiles", [])}
    assert scaled == {"web-replica", "worker-replica", "nginx", "caddy"}
    assert services["web-replica"]["deploy"]["replicas"] >= 2
    assert services["worker-replica"]["deploy"]["replicas"] >= 2
    # Behind nginx the app trusts exactly one proxy hop; the directly exposed web trusts none.
    assert services["web-replica"]["environment"]["NUM_PROXIES"] == "1"
    assert "NUM_PROXIES" not in services["web"]["environment"]
    assert "ports" not in services["web-replica"]  # reached through nginx only
    for name in ("web", "web-replica", "worker", "worker-replica"):
        env = services[name]["environment"]
        assert env["PROMETHEUS_MULTIPROC_DIR"] in services[name]["tmpfs"], name
        assert env["METRICS_TOKEN"], name
    assert services["worker"]["environment"]["CELERY_METRICS_PORT"] == "9808"


def test_compose_mounts_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source}"


def test_caddy_asks_the_app_before_a_certificate_and_proxies_to_the_replicas() -> None:
    conf = (OPS / "caddy" / "Caddyfile").read_text()
    assert "ask http://web:8000/api/v1/tls/ask/" in conf
    assert re.search(r"tls \{\s*on_demand\s*\}", conf)
    assert "dynamic a web-replica 8000" in conf  # one hop: NUM_PROXIES=1 holds behind it
    assert conf.count("{") == conf.count("}")
    caddy = compose()["services"]["caddy"]
    assert "./ops/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert {"80:80", "443:443"} <= set(caddy["ports"])


def test_nginx_passes_host_and_forwarded_headers_to_the_replicas() -> None:
    conf = (OPS / "nginx" / "nginx.conf").read_text()
    assert re.search(r"server web-replica:8000\b", conf)
    assert "proxy_pass http://web;" in conf
    for header in (
        "proxy_set_header Host $host;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ):
        assert header in conf
    assert "location = /metrics { return 404; }" in conf
    assert conf.count("{") == conf.count("}")


def test_prometheus_scrapes_web_with_the_token_and_the_workers() -> None:
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["web"]
    assert web["authorization"]["credentials_file"] == "/etc/prometheus/metrics_token"
    assert set(web["dns_sd_configs"][0]["names"]) == {"web", "web-replica"}
    assert jobs["worker"]["dns_sd_configs"][0]["port"] == 9808
    targets = compose()["services"]["prometheus"]["configs"]
    assert targets[0]["target"] == web["authorization"]["credentials_file"]


def test_grafana_dashboard_shows_the_figures_we_export() -> None:
    dashboard = json.loads((OPS / "grafana" / "dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in (
        "saas_http_requests_total",
        "saas_http_request_duration_seconds_bucket",
        'status=~"5.."',
        "saas_celery_tasks_total",
        "saas_celery_task_duration_seconds_bucket",
        "saas_webhook_events",
        "saas_tenants",
    ):
        assert metric in exprs, metric
    assert "histogram_quantile(0.95" in exprs
    datasources = yaml.safe_load(
        (OPS / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uid = datasources["datasources"][0]["uid"]
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {uid}


def test_compose_runs_the_same_stack_as_make_run() -> None:
    """The offline Stripe, its webhooks reaching the app with the secret the app checks, the
    catalog pushed to it and the demo organization seeded, as `make run` does."""
    services = compose()["services"]
    stripe = services["stripe"]
    options = [a.removeprefix("--").split("=", 1) for a in stripe["command"] if "=" in a]
    args = {key: _interpolated(value) for key, value in options}
    web_env = {k: _interpolated(str(v)) for k, v in services["web"]["environment"].items()}
    assert args["webhook-url"].startswith("http://web:8000/api/v1/billing/stripe/webhook/")
    assert args["webhook-secret"] == web_env["STRIPE_WEBHOOK_SECRETS"]
    assert "web" in web_env["PUBLIC_HOSTS"].split(",")  # the emulator's Host is the public one
    assert "web" in web_env["EXTRA_ALLOWED_HOSTS"].split(",")
    assert web_env["STRIPE_API_BASE"].startswith("http://stripe:12111")
    assert args["public-url"] == "http://localhost:12111"  # links a browser on the host opens
    assert "12111:12111" in stripe["ports"]
    migrate = " ".join(services["migrate"]["command"])
    for step in ("migrate_schemas", "billing_sync_catalog", "seed_demo"):
        assert step in migrate
    assert "stripe" in services["migrate"]["depends_on"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert _interpolated(env["STRIPE_API_BASE"]) == web_env["STRIPE_API_BASE"]
    assert "install -d -o app /var/lib/stripe-emulator" in (REPO / "Dockerfile").read_text()
    assert stripe["volumes"] == ["stripe:/var/lib/stripe-emulator"]


def _interpolated(value: str) -> str:
    """Compose's `${VAR:-default}` / `${VAR-default}` with nothing set in the environment."""
    return re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", value)


def test_the_github_workflow_runs_the_ci_command_with_its_services() -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    test = workflow["jobs"]["test"]
    assert {"postgres", "redis"} <= set(test["services"])
    assert "5432:5432" in test["services"]["postgres"]["ports"]
    assert test["services"]["postgres"]["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert "6379:6379" in test["services"]["redis"]["ports"]
    assert any(step.get("run") == "bash .ci/run" for step in test["steps"])
    assert any(step.get("run") == "make lint" for step in workflow["jobs"]["lint"]["steps"])


def test_the_project_files_users_look_for_exist() -> None:
    assert "MIT License" in (REPO / "LICENSE").read_text()
    contributing = (REPO / "CONTRIBUTING.md").read_text()
    assert "saas test tests/" in contributing
    assert "Add a tenant resource" in contributing
    assert (REPO / "CHANGELOG.md").read_text().startswith("# Changelog")
    assert "## API versioning" in (REPO / "README.md").read_text()
