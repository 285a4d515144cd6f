"""Loaded before anything else (pyproject's addopts: `-p tests.support.xdist_worker`), so
that it runs before Django reads its settings. Under pytest-xdist (`saas test` runs the whole
suite on `-n auto` workers) each worker is a test run of its own: pytest-django gives it its
own test database (`<name>_gw0`, ...), and this gives it its own Celery queue and cache key
prefix, which the child processes it starts (Celery workers, gunicorn) inherit through the
environment. A worker must never take another's tasks: they name schemas of another
database."""

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    for _name, _default in (("CELERY_QUEUE", "celery"), ("CACHE_KEY_PREFIX", "saas-test")):
        os.environ[_name] = f"{os.environ.get(_name, _default)}-{_worker}"
