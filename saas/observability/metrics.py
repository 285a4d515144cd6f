"""Prometheus metrics: HTTP requests, Celery tasks, and figures read from the database at
scrape time (tenants by status, webhook events by type and state).

Several processes (gunicorn workers, Celery pool children) each count their own requests and
tasks. With `PROMETHEUS_MULTIPROC_DIR` set in the environment before start-up, prometheus_client
writes every process's values to files there and a scrape sums them; without it (dev, tests)
the values live in the process.
"""

import logging
import os
from collections.abc import Iterable, Iterator
from functools import cache

from django.db.models import Count
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)

HTTP_REQUESTS = Counter(
    "saas_http_requests_total",
    "HTTP requests answered, by matched route (URL pattern), method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "saas_http_request_duration_seconds",
    "Time to answer an HTTP request, by matched route and method.",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
CELERY_TASKS = Counter(
    "saas_celery_tasks_total",
    "Celery task runs that ended, by task name and outcome (success, failure, retry, ...).",
    ["task", "outcome"],
)
CELERY_TASK_DURATION = Histogram(
    "saas_celery_task_duration_seconds",
    "Time a Celery task ran, by task name.",
    ["task"],
    buckets=_TASK_BUCKETS,
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


if multiprocess_dir():  # values are written there from the first request or task on
    os.makedirs(str(multiprocess_dir()), exist_ok=True)


class DatabaseCollector(Collector):
    """Counts read with one grouped query each at scrape time (never stale, never drifting)."""

    def collect(self) -> Iterator[Metric]:
        from billing.models import WebhookEvent
        from tenants.db import schema_activate_public
        from tenants.models import Tenant

        up = GaugeMetricFamily("saas_metrics_database_up", "1 if the counts below were read.")
        tenants = GaugeMetricFamily(
            "saas_tenants", "Tenants by lifecycle status.", labels=["status"]
        )
        events = GaugeMetricFamily(
            "saas_webhook_events",
            "Stored Stripe events by type and state.",
            labels=["type", "state"],
        )
        try:
            schema_activate_public()
            for row in (
                Tenant.objects.exclude(schema_name="public")
                .values("status")
                .annotate(n=Count("pk"))
            ):
                tenants.add_metric([row["status"]], row["n"])
            for row in WebhookEvent.objects.values("type", "state").annotate(n=Count("pk")):
                events.add_metric([row["type"], row["state"]], row["n"])
        except Exception:  # noqa: BLE001 - a scrape must answer even with the database down
            logger.warning("metrics: database counts unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, tenants, events)


class _ProcessCollector(Collector):
    """This process's own metrics (single-process mode)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


@cache
def process_registry() -> CollectorRegistry:
    """Requests and tasks of every process (multiprocess mode) or of this one."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    return registry


@cache
def scrape_registry() -> CollectorRegistry:
    """What /metrics serves: the process registry plus the database counts."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(process_registry()))
    registry.register(DatabaseCollector())
    return registry


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()
