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
    _manage("migrate_schemas", "--noinput", "-v", "0", env=env)
    _manage("seed_demo", env=env)
    _manage("billing_sync_catalog", env=env)
    base = env.get("BASE_DOMAIN", "localhost")
    port = options.port
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"0.0.0.0:{port}",
                "-w",
                str(options.workers),
                "--access-logfile",
                "-",
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
    return _wait(processes)


DEV_WEBHOOK_SECRET = "whsec_dev_emulator"  # noqa: S105 - dev only, signs the emulator's events


def _start_stripe_emulator(env: dict[str, str], *, web_port: int) -> Any:
    """The offline Stripe, on a stable port (its stored invoice links keep working across
    restarts), sending signed webhooks to our public host."""
    if env.get("STRIPE_SECRET_KEY"):
        return None
    from .stripe_emulator.server import EmulatorServer

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
    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    return max((p.returncode or 0) for p in processes)


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
    command = [sys.executable, "-m", "pytest", *pytest_args]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode  # noqa: S603


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
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode  # noqa: S603


def cmd_stripe_emulator(argv: Sequence[str]) -> int:
    from .stripe_emulator.cli import main as emulator_main

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
