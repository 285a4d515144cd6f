"""The process environment, completed from `.env` before anything reads it.

`.env` (beside manage.py) fills in what the environment does not set. An empty variable
(`NAME=`, in `.env` or the environment) is an unset one: settings take their defaults, and so
do libraries that look only at whether a variable exists (prometheus_client: an empty
PROMETHEUS_MULTIPROC_DIR would put its files in the working directory). Child processes
inherit the result.
"""

import os
from pathlib import Path

import environ

DOTENV = Path(__file__).resolve().parent.parent / ".env"


def environment_load() -> None:
    if DOTENV.is_file():
        environ.Env.read_env(DOTENV)
    for name in [name for name, value in os.environ.items() if value == ""]:
        del os.environ[name]
