"""The outbound webhooks bench's own code (bench/webhooks_out.py) on a tiny count: its
receiver, the write-path figure and the delivery-rate figure. No worker, no timing
assertions: the worker's part is the bench's own run."""

from bench.webhooks_out import (
    Receiver,
    attempts_in_process,
    deliveries_rate,
    endpoints_create,
    percentile,
    write_path,
)
from saas.webhooks_out.models import WebhookDelivery
from saas.webhooks_out.services import webhook_delivery_attempt
from saas.workspace.models import Task
from saas.workspace.services import project_create, task_create
from tests.factories import Org


def test_percentile_takes_the_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 51.0  # rank round(0.5 * 99) = 50, 0-based
    assert percentile(samples, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


def test_the_write_path_queues_deliveries_only_in_the_subscribed_rounds(hooks: Org) -> None:
    with Receiver() as receiver:
        endpoint_ids = endpoints_create(hooks.tenant, receiver.url(), ["task.created"], 3)
        with hooks.tenant:
            project = project_create(name="Bench", created_by=hooks.user)

        figure = write_path(hooks.tenant, hooks.user, project.pk, endpoint_ids, tasks=2, rounds=1)

    assert figure["bench"] == "webhooks_out_write_path"
    assert figure["subscribed_endpoints"] == 3
    assert figure["deliveries_queued"] == 2 * 3  # none from the round with 0 endpoints
    assert figure["sql_per_create_3"] > figure["sql_per_create_0"] > 0
    assert len(figure["rounds_creates_per_s_0"]) == len(figure["rounds_creates_per_s_3"]) == 1
    assert figure["ratio"] > 0
    with hooks.tenant:
        assert Task.objects.filter(project=project).count() == 2 + 2 + 2  # and one counted each way


def test_the_receiver_answers_a_delivery_and_the_rate_figure_counts_it(hooks: Org) -> None:
    with Receiver() as receiver:
        endpoints_create(hooks.tenant, receiver.url(), ["task.created"], 1)
        with hooks.tenant:
            project = project_create(name="Bench", created_by=hooks.user)
            task = task_create(
                tenant=hooks.tenant, project_id=project.pk, created_by=hooks.user, title="One"
            )
            (delivery,) = WebhookDelivery.objects.all()
            assert webhook_delivery_attempt(delivery_id=delivery.pk) == "delivered"

        assert receiver.arrival_of("task.created", task.pk, timeout=5) is not None
        assert receiver.arrival_of("task.created", task.pk + 1, timeout=0.1) is None
        figure = deliveries_rate(hooks.tenant, receiver, expected=1, seconds=1.0)

    assert figure["delivered"] == 1
    assert figure["received"] == 1
    assert figure["not_delivered"] == 0
    assert figure["complete"] is True


def test_the_in_process_attempts_deliver_every_queued_delivery(hooks: Org) -> None:
    with Receiver() as receiver:
        endpoints_create(hooks.tenant, receiver.url(), ["task.created"], 1)
        with hooks.tenant:
            project = project_create(name="Bench", created_by=hooks.user)

        figure = attempts_in_process(hooks.tenant, hooks.user, project.pk, 3)

        assert len(receiver.arrivals) == 3
    assert figure["n"] == figure["delivered"] == 3
    assert figure["ms_per_delivery"] > 0
