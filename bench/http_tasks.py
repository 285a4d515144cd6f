"""GET /api/v1/projects/<id>/tasks/ under `wrk`, against the stack a user would assemble instead.

Four targets, each `gunicorn -w 2` on 127.0.0.1 and each driven by `wrk -t2 -c16` (a C load
generator: on a 2-core machine a Python one is the bottleneck and caps every side alike):

- ours:   the product, tenant-routed (config.settings), a member's JWT, 20 tasks on the page;
- single: the same stack with tenancy switched off (bench/settings_single_schema.py);
- stock:  the peer in ../shared/peers/stock-django-tenants/ (relative to the repository) with
          ANCHOR_TENANCY=1: django-tenants' stock middleware + DRF + simplejwt;
- plain:  the same peer with ANCHOR_TENANCY=0: plain DRF + simplejwt, no tenancy.

The peer runs with our virtualenv, each variant on a database of its own that this bench
creates and drops. All four servers are started first and warmed up; then ROUNDS alternating
rounds (ours, single, stock, plain; again ...) of BENCH_HTTP_SECONDS each. Per target: the
median of the rounds' requests/s, p50 and p99 (wrk's own latency histogram, read by
bench/wrk_report.lua), and the ratios of ours to each other target.

Also, for ours: SQL queries and Redis round trips per request, measured in-process (one
Django WSGI handler called directly, as gunicorn's worker calls it; see bench/request_cost.py).

No wrk: says how to install it and skips the HTTP figures. No peer: says so and measures ours
only. Servers and databases are cleaned up on failure and Ctrl-C (servers also die with this
process). Results: JSON lines on stdout (via bench.run), a table on stderr, and
build/bench/http.json.
"""

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
from django.conf import settings
from psycopg import sql

from bench.common import free_port, tenants_drop, unlimited_plan_for

REPO = Path(__file__).resolve().parent.parent
PEER_RELATIVE = "../shared/peers/stock-django-tenants"
OUT = REPO / "build" / "bench" / "http.json"
LUA = Path(__file__).resolve().parent / "wrk_report.lua"

SLUG = "bench-http"
OWNER_EMAIL = "owner@bench-http.test"
MEMBER_EMAIL = "member@bench-http.test"
TASKS = 20
SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "10"))
WARMUP_SECONDS = int(os.environ.get("BENCH_HTTP_WARMUP_SECONDS", str(min(3, SECONDS))))
ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "3"))
WRK_THREADS = 2
WRK_CONNECTIONS = 16
GUNICORN_WORKERS = 2
# The peer's settings name 127.0.0.1:5432, user postgres; its databases are made there.
PEER_HOST, PEER_PORT = "127.0.0.1", 5432
PEER_DATABASES = {"stock": "saas_bench_peer_stock", "plain": "saas_bench_peer_plain"}

WRK_MISSING = (
    "wrk is not installed: the HTTP figures are skipped. Install it from the distribution's "
    "packages (Debian/Ubuntu: apt-get install wrk; Fedora: dnf install wrk; macOS: brew "
    "install wrk) and run `make bench` again."
)


def peer_missing_message(peer: Path) -> str:
    return (
        f"the peer is absent ({_shown(peer)} not found, or it has no manage.py): measuring "
        "only our own targets (tenant-routed and single-schema), no ratio to the stock or "
        "plain stack."
    )


PEER_NO_POSTGRES = (
    "the peer needs PostgreSQL on 127.0.0.1:5432 (user postgres), which is not reachable: "
    "measuring only our own targets."
)


def _say(message: str) -> None:
    print(f"[bench http] {message}", file=sys.stderr, flush=True)


def _shown(path: Path) -> str:
    """A path as the repository sees it, never the machine's absolute path."""
    try:
        return os.path.relpath(path, REPO)
    except ValueError:  # another drive (Windows)
        return path.name


def peer_dir() -> Path:
    """../shared/peers/stock-django-tenants/ next to the repository (BENCH_PEER_DIR, relative
    to the repository, to point elsewhere)."""
    return (REPO / os.environ.get("BENCH_PEER_DIR", PEER_RELATIVE)).resolve()


# --- wrk ----------------------------------------------------------------------------------


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """wrk's output -> requests, seconds, requests/s, p50/p90/p99/max in ms, error counts.

    Reads the WRK_JSON line bench/wrk_report.lua prints; without it (another script, or none),
    wrk's own text: `Requests/sec:` and the `--latency` distribution."""
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            raw = json.loads(line[len("WRK_JSON ") :])
            seconds = raw["duration_us"] / 1e6
            return {
                "requests": raw["requests"],
                "seconds": round(seconds, 3),
                "requests_per_s": raw["requests"] / seconds if seconds else 0.0,
                "p50_ms": raw["p50_us"] / 1000,
                "p90_ms": raw["p90_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000,
                "max_ms": raw["max_us"] / 1000,
                "non_2xx": raw["errors_status"],
                "socket_errors": sum(
                    raw[f"errors_{kind}"] for kind in ("connect", "read", "write", "timeout")
                ),
            }
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if rate is None:
        raise ValueError("not wrk output: no WRK_JSON line and no Requests/sec line")
    result: dict[str, Any] = {"requests_per_s": float(rate.group(1))}
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", output, re.MULTILINE)
    if total:
        result["requests"] = int(total.group(1))
        result["seconds"] = _to_ms(total.group(2), total.group(3)) / 1000
    for percent in ("50", "90", "99"):
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if match:
            result[f"p{percent}_ms"] = _to_ms(match.group(1), match.group(2))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    result["socket_errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    return result


def wrk_command(wrk: str, url: str, headers: dict[str, str], seconds: int) -> list[str]:
    command = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "10s", "-s", str(LUA)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return [*command, url]


# --- servers ------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Child processes get SIGTERM when this process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Target:
    name: str
    title: str
    cwd: Path
    wsgi: str
    env: dict[str, str]
    host: str
    path: str
    token: Callable[[], str]  # a fresh JWT per wrk run: ours live 5 minutes
    process: subprocess.Popen | None = None
    base: str = ""
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return {"Host": self.host, "Authorization": f"Bearer {self.token()}"}

    def start(self) -> None:
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", self.wsgi, "-b", f"127.0.0.1:{port}"]
        command += ["-w", str(GUNICORN_WORKERS), "--log-level", "warning"]
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            command, cwd=self.cwd, env=self.env, preexec_fn=_die_with_parent
        )
        self.base = f"http://127.0.0.1:{port}"
        deadline, problem = time.monotonic() + 90, "no answer"
        headers = self.headers()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.title}: gunicorn exited ({self.process.returncode})")
            try:
                response = requests.get(self.base + self.path, headers=headers, timeout=10)
            except requests.RequestException:  # not listening yet
                time.sleep(0.3)
                continue
            if response.status_code == 200 and len(response.json()["results"]) == 20:
                return
            problem = f"{response.status_code}: {response.text[:300]}"
            time.sleep(0.3)
        raise RuntimeError(f"{self.title}: the task list never answered 200 ({problem})")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # gunicorn: graceful stop of its workers
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wrk_run(command: list[str], *, seconds: int, what: str) -> tuple[dict[str, Any], str]:
    """Runs wrk (`command`, lasting `seconds`): its parsed figures and its output. Refuses a
    run in which wrk failed or any answer was not a 2xx: its figures would be wrong."""
    done = subprocess.run(  # noqa: S603 - wrk, our arguments
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed on {what}: {done.stderr.strip()[:300]}")
    result = parse_wrk(done.stdout)
    if result["non_2xx"] or result["socket_errors"]:
        raise RuntimeError(
            f"{what}: {result['non_2xx']} non-2xx answers and "
            f"{result['socket_errors']} socket errors under wrk; figures would be wrong"
        )
    return result, done.stdout


def _run_wrk(wrk: str, target: Target, seconds: int) -> dict[str, Any]:
    command = wrk_command(wrk, target.base + target.path, target.headers(), seconds)
    return wrk_run(command, seconds=seconds, what=target.title)[0]


# --- ours: a tenant with a project of 20 tasks and a member ------------------------------


def _ours_cleanup() -> None:
    from accounts.models import User
    from billing.models import Plan
    from tenants.models import Tenant

    tenants_drop(Tenant.objects.filter(slug=SLUG))
    User.objects.filter(email__in=[OWNER_EMAIL, MEMBER_EMAIL]).delete()
    Plan.objects.filter(code=SLUG).delete()


@dataclass
class Seeded:
    host: str
    schema: str
    path: str
    token: Callable[[], str]


def seed_ours() -> Seeded:
    """A tenant on a plan whose API rate the bench cannot reach (the rate check still runs),
    an owner, a member, one project with 20 tasks; JWTs are the member's."""
    from accounts.models import Membership, Role, User
    from accounts.tokens import tenant_tokens_issue
    from saas.workspace.models import Project, Task
    from tenants.organizations import organization_open
    from tenants.services import tenant_domain_for

    _ours_cleanup()
    tenant = organization_open(name="Bench HTTP", slug=SLUG)
    unlimited_plan_for(tenant, SLUG)
    owner = User.objects.create_user(email=OWNER_EMAIL)
    member = User.objects.create_user(email=MEMBER_EMAIL)
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    Membership.objects.create(user=member, tenant=tenant, role=Role.MEMBER)
    with tenant:
        project = Project.objects.create(name="Bench", created_by=owner)
        Task.objects.bulk_create(
            Task(project=project, title=f"Task {i}", created_by=owner, assignee=member)
            for i in range(TASKS)
        )

    def token() -> str:
        issued = tenant_tokens_issue(user=member, tenant=tenant, role=Role.MEMBER)
        return str(issued.access_token)

    return Seeded(
        host=tenant_domain_for(SLUG),
        schema=tenant.schema_name,
        path=f"/api/v1/projects/{project.pk}/tasks/",
        token=token,
    )


def _ours_targets(seeded: Seeded) -> list[Target]:
    env = {**os.environ, "LOG_LEVEL": "WARNING", "BENCH_SINGLE_SCHEMA": seeded.schema}
    common = {"cwd": REPO, "wsgi": "config.wsgi", "host": seeded.host, "path": seeded.path}
    return [
        Target(
            name="ours",
            title="ours, tenant-routed",
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            token=seeded.token,
            **common,  # type: ignore[arg-type]
        ),
        Target(
            name="single",
            title="ours, single-schema build",
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.settings_single_schema"},
            token=seeded.token,
            **common,  # type: ignore[arg-type]
        ),
    ]


# --- the peer -----------------------------------------------------------------------------


def _peer_admin(statement: sql.Composed) -> None:
    with psycopg.connect(
        host=PEER_HOST,
        port=PEER_PORT,
        user="postgres",
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    ) as admin:
        admin.execute(statement)


def _peer_drop(database: str) -> None:
    _peer_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def _peer_postgres_reachable() -> bool:
    try:
        with socket.create_connection((PEER_HOST, PEER_PORT), timeout=1):
            return True
    except OSError:
        return False


def _peer_target(name: str, peer: Path) -> Target:
    """Creates the variant's database, migrates it, seeds it with setup_anchor.py (one tenant
    of 60 tasks, 20 per page, and 50 other tenants for the stock variant) and takes its JWT."""
    tenancy = "1" if name == "stock" else "0"
    database = PEER_DATABASES[name]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="anchor.settings",
        ANCHOR_TENANCY=tenancy,
        ANCHOR_DB=database,
        PYTHONDONTWRITEBYTECODE="1",  # the peer's directory may be read-only
    )
    _peer_drop(database)
    _peer_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    migrate = ["migrate_schemas", "--shared"] if tenancy == "1" else ["migrate"]
    for command in (["manage.py", *migrate, "--noinput", "-v", "0"], ["setup_anchor.py"]):
        done = subprocess.run(  # noqa: S603 - our interpreter, the peer's own scripts
            [sys.executable, *command],
            cwd=peer,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"peer ({name}) {command[0]} failed: {done.stderr[-800:]}")
    jwt = done.stdout.strip().splitlines()[-1]
    return Target(
        name=name,
        title=(
            "stock django-tenants + simplejwt (peer)"
            if name == "stock"
            else "plain DRF + simplejwt, no tenancy (peer)"
        ),
        cwd=peer,
        wsgi="anchor.wsgi",
        env=env,
        host="anchor.localhost" if name == "stock" else "localhost",
        path="/tasks/",
        token=lambda: jwt,  # the peer's tokens live 6 hours
    )


# --- the run ------------------------------------------------------------------------------


@dataclass
class Preflight:
    http: bool
    peer: bool
    notes: list[str]


def preflight(wrk: str | None, peer: Path, postgres_reachable: Callable[[], bool]) -> Preflight:
    """What can be measured here, and the notes that say what cannot."""
    notes: list[str] = []
    if wrk is None:
        return Preflight(http=False, peer=False, notes=[WRK_MISSING])
    peer_ok = (peer / "manage.py").is_file() and (peer / "setup_anchor.py").is_file()
    if not peer_ok:
        notes.append(peer_missing_message(peer))
    elif not postgres_reachable():
        notes.append(PEER_NO_POSTGRES)
        peer_ok = False
    return Preflight(http=True, peer=peer_ok, notes=notes)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (e.g. a CI timeout) runs the finally blocks, as Ctrl-C does."""

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def summarize(target: Target) -> dict[str, Any]:
    rounds = target.rounds
    return {
        "bench": "task_list_http",
        "target": target.name,
        "what": target.title,
        "requests_per_s": round(statistics.median(r["requests_per_s"] for r in rounds), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
        "rounds_requests_per_s": [round(r["requests_per_s"], 1) for r in rounds],
        "requests": sum(r.get("requests", 0) for r in rounds),
    }


def ratios(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """ours / each other target, requests/s medians; the issue's targets where it sets one."""
    if "ours" not in summaries:
        return {}
    ours = summaries["ours"]["requests_per_s"]
    goals = {"stock": 1.25, "plain": 0.95, "single": None}
    figure: dict[str, Any] = {"bench": "task_list_http_ratios"}
    for other, goal in goals.items():
        if other not in summaries:
            continue
        ratio = ours / summaries[other]["requests_per_s"]
        figure[f"ours_to_{other}"] = round(ratio, 2)
        # Each round's pair ran back to back: its ratio is less exposed to a busy machine's
        # drift between rounds than the ratio of the medians.
        pairs = zip(
            summaries["ours"].get("rounds_requests_per_s", []),
            summaries[other].get("rounds_requests_per_s", []),
            strict=False,
        )
        per_round = [round(a / b, 2) for a, b in pairs if b]
        if per_round:
            figure[f"ours_to_{other}_per_round"] = per_round
        if goal is not None:
            figure[f"ours_to_{other}_target"] = goal
            figure[f"ours_to_{other}_met"] = ratio >= goal
    if "stock" in summaries:
        figure["p99_ours_ms"] = summaries["ours"]["p99_ms"]
        figure["p99_stock_ms"] = summaries["stock"]["p99_ms"]
        figure["p99_no_worse_than_stock"] = (
            summaries["ours"]["p99_ms"] <= summaries["stock"]["p99_ms"]
        )
    return figure


def _table(summaries: dict[str, dict[str, Any]], ratio: dict[str, Any]) -> list[str]:
    lines = [f"{'target':44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  ours/x  rounds (req/s)"]
    for name, row in summaries.items():
        mark = "-" if name == "ours" else f"{ratio.get(f'ours_to_{name}', 0):.2f}x"
        rounds = ", ".join(f"{r:.0f}" for r in row["rounds_requests_per_s"])
        lines.append(
            f"{row['what']:44} {row['requests_per_s']:8.1f} {row['p50_ms']:8.2f} "
            f"{row['p99_ms']:8.2f}  {mark:>6}  {rounds}"
        )
    return lines


def _per_request(seeded: Seeded) -> list[dict[str, Any]]:
    from bench.request_cost import count_per_request

    figures = []
    for rows, suffix in ((20, ""), (1, "?page_size=1")):
        counted = count_per_request(seeded.host, seeded.path + suffix, seeded.token())
        figures.append({"bench": "task_list_per_request", "rows": rows, **counted})
    return figures


def run() -> list[dict[str, Any]]:
    wrk = shutil.which("wrk")
    peer = peer_dir()
    plan = preflight(wrk, peer, _peer_postgres_reachable)
    for note in plan.notes:
        _say(note)
    targets: list[Target] = []
    figures: list[dict[str, Any]] = []
    started = dt.datetime.now(dt.UTC)
    with _sigterm_unwinds():
        try:
            seeded = seed_ours()
            figures += _per_request(seeded)
            if plan.http:
                assert wrk is not None
                targets = _ours_targets(seeded)
                if plan.peer:
                    for name in ("stock", "plain"):
                        _say(f"preparing the peer ({name}) in {_shown(peer)} ...")
                        targets.append(_peer_target(name, peer))
                for target in targets:
                    target.start()
                _say(f"warm-up: {WARMUP_SECONDS} s per target")
                for target in targets:
                    _run_wrk(wrk, target, WARMUP_SECONDS)
                for number in range(1, ROUNDS + 1):
                    for target in targets:
                        result = _run_wrk(wrk, target, SECONDS)
                        target.rounds.append(result)
                        _say(
                            f"round {number}/{ROUNDS} {target.name:6} "
                            f"{result['requests_per_s']:8.1f} req/s  p50 {result['p50_ms']:.2f}"
                            f" ms  p99 {result['p99_ms']:.2f} ms"
                        )
        finally:
            for target in targets:
                target.stop()
            if plan.peer:
                for database in PEER_DATABASES.values():
                    with contextlib.suppress(psycopg.Error):
                        _peer_drop(database)
            _ours_cleanup()
    summaries = {t.name: summarize(t) for t in targets if t.rounds}
    ratio = ratios(summaries)
    for line in _table(summaries, ratio):
        _say(line)
    for counted in figures:
        _say(
            f"ours, {counted['rows']} rows/page: {counted['sql_queries_per_request']} SQL "
            f"queries (+{counted['db_health_checks_per_request']} health-check SELECT 1) and "
            f"{counted['redis_round_trips_per_request']} Redis round trips per request "
            f"({', '.join(counted['redis_commands'])})"
        )
    if figures:
        _say(f"measured {figures[-1]['measured']}")
    figures = [*summaries.values(), *([ratio] if ratio else []), *figures]
    if not plan.http:
        figures.append({"bench": "task_list_http", "skipped": WRK_MISSING})
    elif not plan.peer:
        figures.append({"bench": "task_list_http", "peer": "absent", "note": plan.notes[0]})
    _write(figures, plan, started)
    return figures


def _write(figures: list[dict[str, Any]], plan: Preflight, started: dt.datetime) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started": started.isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "wrk": f"-t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{SECONDS}s, {ROUNDS} alternating rounds",
        "gunicorn_workers": GUNICORN_WORKERS,
        "warmup_seconds": WARMUP_SECONDS,
        "conn_max_age": settings.DATABASES["default"].get("CONN_MAX_AGE"),
        "notes": plan.notes,
        "figures": figures,
    }
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    _say(f"written to {_shown(OUT)}")


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    for figure in run():
        print(json.dumps(figure), flush=True)
