"""gunicorn settings for the web processes: `gunicorn -c python:saas.observability.gunicorn_conf
config.wsgi`. Workers, bind address and timeout come from the environment."""

import os
import shutil
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# The app's access-log middleware writes one structured line per request (without query
# strings, with the route pattern instead of the raw path); gunicorn's own would repeat it.
accesslog = None


def on_starting(server: Any) -> None:
    """Start from an empty PROMETHEUS_MULTIPROC_DIR: files of an earlier run would be added in."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
