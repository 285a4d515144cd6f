"""PUBLIC_HOSTS: other names of the public host (the service name other containers use)."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_a_public_host_alias_serves_the_public_urls(settings) -> None:
    settings.PUBLIC_HOSTS = ["web"]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "web"]
    response = Client(HTTP_HOST="web").get("/api/v1/plans/")
    assert response.status_code == 200
    assert isinstance(response.json(), list | dict)


@pytest.mark.django_db
def test_an_unknown_host_is_still_a_404(settings) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "web"]
    assert Client(HTTP_HOST="web").get("/api/v1/plans/").status_code == 404
