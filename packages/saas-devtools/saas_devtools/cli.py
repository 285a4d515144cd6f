"""The `saas` command: the dev stack and the test run, with their services found or started.

saas dev              web + worker + beat (+ the offline Stripe when no STRIPE_SECRET_KEY)
saas manage ARGS      manage.py ARGS on what `saas dev` runs on (its database, Redis, Stripe)
saas test [ARGS]      the test suite (pytest ARGS) against a PostgreSQL and Redis of its own
saas bench            the benchmarks in bench/, on a database of their own
saas stripe-emulator  the offline Stripe on its own
"""

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from . import devservices
from .devservices import REPO


def _print(message: str) -> None:
    print(f"[saas] {message}", flush=True)


def _services(*, redis_db: int) -> tuple[devservices.Service, devservices.Service]:
    postgres = devservices.resolve_postgres()
    redis = devservices.resolve_redis(db=redis_db)
    _print(postgres.describe())
    _print(redis.describe())
    return postgres, redis


def _database_ready(postgres: devservices.Service, *, create: bool) -> bool:
    """A DATABASE_URL of the caller's must name a database that exists (`create`: made if
    not); found or started servers always have it. Says why not in one line."""
    if postgres.origin != "DATABASE_URL":
        return True
    problem = devservices.postgres_check(postgres.url, create=create)
    if problem:
        _print(problem)
    return problem is None


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, check=True)  # noqa: S603


def cmd_dev(options: argparse.Namespace) -> int:
    postgres, redis = _services(redis_db=0)
    if not _database_ready(postgres, create=True):
        return 2
    env = {
        **os.environ,
        "DJANGO_ENV": os.environ.get("DJANGO_ENV", "dev"),
        **devservices.environment_for(postgres, redis),
    }
    smtp = devservices.resolve_smtp()
    _print(smtp.describe())
    env["EMAIL_URL"] = smtp.url
    emulator = _start_stripe_emulator(env, web_port=options.port)
    _migrate(env)
    _manage("billing_sync_catalog", env=env)  # before the seed: demo's trial needs prices
    _manage("seed_demo", env=env)
    base = env.get("BASE_DOMAIN", "localhost")
    port = options.port
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "gunicorn",
                # The app writes the access log (one line per request, with the tenant).
                "-c",
                "python:saas.observability.gunicorn_conf",
                "config.wsgi",
                "-b",
                f"{options.host}:{port}",
                "-w",
                str(options.workers),
                "--timeout",
                "60",
            ],
            cwd=REPO,
            env=env,
        ),
    ]
    if not options.no_worker:
        processes.append(
            subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-B",
                    "-l",
                    "info",
                    "--concurrency",
                    "2",
                    "-s",
                    str(devservices.DATA_DIR / "celerybeat-schedule"),
                ],
                cwd=REPO,
                env=env,
            )
        )
    _print(f"API (public):   http://{base}:{port}/api/v1/signup/")
    _print(f"API (tenant):   http://demo.{base}:{port}/api/v1/projects/  (demo@example.com)")
    _print(f"OpenAPI docs:   http://{base}:{port}/api/docs/  ·  /api/redoc/  ·  /api/schema/")
    _print(f"Admin:          http://{base}:{port}/admin/   Health: /healthz /readyz")
    if emulator is not None:
        _print(f"Stripe:         offline emulator at {emulator.url}")
    if options.host not in {"127.0.0.1", "localhost", "::1"}:
        _print(f"Listening on {options.host}:{port}: reachable from other machines")
    return _wait(processes)


def _migrate(env: dict[str, str]) -> None:
    """migrate_schemas, showing each migration it applies: the first run applies every
    migration to the public schema and the tenant template and takes a while."""
    _print("migrating the database (the first run takes a minute) ...")
    started = time.monotonic()
    command = [sys.executable, str(REPO / "manage.py"), "migrate_schemas", "--noinput", "-v", "1"]
    applied = 0
    with subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        command, env=env, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as process:
        for line in process.stdout or ():
            if "Applying " in line:
                applied += 1
                _print("  " + line.split("Applying ", 1)[1].strip())
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    seconds = time.monotonic() - started
    _print(f"database up to date ({applied} migrations applied, {seconds:.0f} s)")


DEV_WEBHOOK_SECRET = "whsec_dev_emulator"  # noqa: S105 - dev only, signs the emulator's events


def _start_stripe_emulator(env: dict[str, str], *, web_port: int) -> Any:
    """The offline Stripe, on a stable port (its stored invoice links keep working across
    restarts), sending signed webhooks to our public host."""
    if env.get("STRIPE_SECRET_KEY"):
        return None
    from stripe_emulator.server import EmulatorServer

    devservices.DATA_DIR.mkdir(parents=True, exist_ok=True)
    base = env.get("BASE_DOMAIN", "localhost")
    webhook = f"http://{base}:{web_port}/api/v1/billing/stripe/webhook/"
    port = int(env.get("STRIPE_EMULATOR_PORT", "12111"))
    emulator = EmulatorServer(
        port=0 if devservices.port_in_use(port) else port,
        state_file=str(devservices.DATA_DIR / "stripe-emulator.json"),
        webhook_url=webhook,
        webhook_secret=DEV_WEBHOOK_SECRET,
    ).start()
    env["STRIPE_API_BASE"] = emulator.url
    env["STRIPE_SECRET_KEY"] = "sk_test_emulator"  # noqa: S105 - the emulator accepts any key
    env.setdefault("STRIPE_WEBHOOK_SECRETS", DEV_WEBHOOK_SECRET)
    EMULATOR_URL_FILE.write_text(emulator.url)  # for `saas manage` while this runs
    return emulator


EMULATOR_URL_FILE = devservices.DATA_DIR / "stripe-emulator.url"


def cmd_manage(argv: Sequence[str]) -> int:
    """manage.py on the dev stack's services, so commands reach what `make run` serves:
    its database and Redis, and its offline Stripe (when no STRIPE_SECRET_KEY is set)."""
    postgres, redis = _services(redis_db=0)
    if not _database_ready(postgres, create=False):
        return 2
    env = {
        **os.environ,
        "DJANGO_ENV": os.environ.get("DJANGO_ENV", "dev"),
        **devservices.environment_for(postgres, redis),
    }
    if not env.get("STRIPE_SECRET_KEY") and EMULATOR_URL_FILE.exists():
        env["STRIPE_API_BASE"] = EMULATOR_URL_FILE.read_text().strip()
        env["STRIPE_SECRET_KEY"] = "sk_test_emulator"  # noqa: S105 - the emulator's
    command = [sys.executable, str(REPO / "manage.py"), *argv]
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603


def _wait(processes: list[subprocess.Popen]) -> int:
    """Until Ctrl-C, SIGTERM or one process ending on its own. Asked to stop, that is a
    clean exit (0, so `make run` ends without "Error"); a process that died is not."""
    asked = False

    def stop(*_: object) -> None:
        nonlocal asked
        asked = True
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while not asked and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        asked = True
    died = [p for p in processes if p.poll() is not None] if not asked else []
    stop()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if asked:
        _print("stopped")
        return 0
    return max((p.returncode or 1) for p in died)


def cmd_test(pytest_args: Sequence[str]) -> int:
    postgres, redis = _services(redis_db=1)
    # A test database of its own per checkout, so two clones can test side by side and
    # nothing of the dev database is ever touched.
    tag = hashlib.sha1(str(REPO).encode(), usedforsecurity=False).hexdigest()[:8]
    env = {
        **os.environ,
        **devservices.environment_for(postgres, redis),
        "DJANGO_ENV": "test",
        "TEST_DATABASE_NAME": os.environ.get("TEST_DATABASE_NAME", f"test_saas_{tag}"),
        "CACHE_KEY_PREFIX": f"saas-test-{tag}-{os.getpid()}",
        # Per run, not per checkout: a worker of another run must never take these tasks.
        "CELERY_QUEUE": f"saas-test-{tag}-{os.getpid()}",
    }
    command = [sys.executable, "-m", "pytest", *_parallel(pytest_args), *pytest_args]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode  # noqa: S603


def _parallel(pytest_args: Sequence[str]) -> list[str]:
    """The whole suite (`saas test` alone, what `make test` runs) on one pytest-xdist worker per
    core (SAAS_TEST_WORKERS to choose: a number, `auto`, or 0 for none), each with its own
    test database, queue and cache prefix (tests/support/xdist_worker.py); a run given paths or
    options stays in one process, as fast to start as before."""
    workers = os.environ.get("SAAS_TEST_WORKERS", "auto")
    if pytest_args or workers in ("", "0", "1"):
        return []
    return ["-n", workers, "--dist", "loadfile"]


def cmd_bench(args: Sequence[str]) -> int:
    postgres = devservices.resolve_postgres(database="saas_bench")
    redis = devservices.resolve_redis(db=2)
    _print(postgres.describe())
    _print(redis.describe())
    env = {
        **os.environ,
        **devservices.environment_for(postgres, redis),
        "DJANGO_ENV": "dev",
        "CACHE_KEY_PREFIX": "saas-bench",
        # Figures measure the app, not a console printing an access-log line per request.
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    command = [sys.executable, "-m", "bench.run", *args]
    process = subprocess.Popen(command, cwd=REPO, env=env)  # noqa: S603
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the bench too: let it stop its servers and drop its databases
        # (subprocess.run would kill it a moment later).
        return process.wait()


def cmd_stripe_emulator(argv: Sequence[str]) -> int:
    """The `stripe-emulator` command, kept under `saas` for the commands written that way."""
    from stripe_emulator.cli import main as emulator_main

    return emulator_main(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["test"]:
        return cmd_test(argv[1:])
    if argv[:1] == ["bench"]:
        return cmd_bench(argv[1:])
    if argv[:1] == ["manage"]:
        return cmd_manage(argv[1:])
    if argv[:1] == ["stripe-emulator"]:
        return cmd_stripe_emulator(argv[1:])
    parser = argparse.ArgumentParser(
        prog="saas", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run web, worker and beat with their services")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    dev.add_argument(
        "--host",
        default=os.environ.get("HOST", "127.0.0.1"),
        help="address to listen on (default 127.0.0.1; 0.0.0.0 to be reachable from others)",
    )
    dev.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    dev.add_argument("--no-worker", action="store_true", help="skip the Celery worker/beat")
    commands.add_parser("test", help="run the test suite (extra args go to pytest)")
    commands.add_parser("manage", help="manage.py on the dev stack's services (args follow)")
    commands.add_parser("bench", help="run the benchmarks in bench/ on a database of their own")
    commands.add_parser("stripe-emulator", help="run the offline Stripe alone (--help)")
    options = parser.parse_args(argv)
    return cmd_dev(options)


if __name__ == "__main__":
    sys.exit(main())
