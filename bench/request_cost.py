"""What one tenant-routed task-list request of ours costs, measured in-process.

One Django WSGIHandler (what gunicorn's worker calls) is called directly with the environ of
`GET /api/v1/projects/<id>/tasks/` (member JWT, 20 tasks on the page), so there is no socket
and no load generator in the figures, only the app.

- count_per_request(): SQL queries (Django's connection.execute_wrapper, cross-checked with
  CaptureQueriesContext) and Redis round trips (a counting wrapper around redis-py's
  Redis.execute_command, one per command, and Pipeline.execute, one per pipeline; cross-checked
  with the socket writes of redis-py's Connection.send_packed_command), after warm-up requests.
- profile(): a timing tree. Every middleware's get_response, the view's DRF steps
  (authentication, permissions, throttles, query validation, page query, serialisation,
  envelope, rendering), each Redis call and each SQL query are wrapped with a perf_counter
  timer; a node's self time is its time minus its children's. Then the same requests under
  cProfile (build/bench/task_list.pstats) with self time grouped by package, and the mean
  without any instrumentation.

`saas bench profile` runs profile() on a tenant of its own (created and dropped);
`saas bench` (bench/http_tasks.py) reports count_per_request()'s figures.
"""

import cProfile
import importlib
import io
import json
import os
import pstats
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "build" / "bench"
MEASURED = (
    "in-process: one Django WSGIHandler called directly after 5 warm-up requests; SQL via "
    "connection.execute_wrapper (the CONN_HEALTH_CHECKS SELECT 1 counted apart); Redis round "
    "trips = redis-py Redis.execute_command calls + Pipeline.execute calls (one each)"
)


@dataclass
class Node:
    calls: int = 0
    total_ns: int = 0
    child_ns: int = 0


class Recorder:
    """A tree of timed sections keyed by their path of labels."""

    def __init__(self) -> None:
        self.active = False
        self.stack: list[list[Any]] = []  # [label, children's ns]
        self.nodes: dict[tuple[str, ...], Node] = {}

    def timed(self, label: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not recorder.active:
                return fn(*args, **kwargs)
            name = label(*args, **kwargs) if callable(label) else label
            if any(frame[0] == name for frame in recorder.stack):
                return fn(*args, **kwargs)  # recursion (URL resolvers): the outer call counts
            path = (*(frame[0] for frame in recorder.stack), name)
            recorder.stack.append([name, 0])
            started = time.perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter_ns() - started
                _, children = recorder.stack.pop()
                node = recorder.nodes.setdefault(path, Node())
                node.calls += 1
                node.total_ns += elapsed
                node.child_ns += children
                if recorder.stack:
                    recorder.stack[-1][1] += elapsed

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper

    def count(self, prefix: str) -> int:
        return sum(n.calls for path, n in self.nodes.items() if path[-1].startswith(prefix))

    def labels(self, prefix: str, requests: int) -> list[str]:
        """What ran per request, e.g. ["GET x2", "EVALSHA"]."""
        found: Counter[str] = Counter()
        for path, node in self.nodes.items():
            if path[-1].startswith(prefix):
                found[path[-1][len(prefix) :]] += node.calls
        per_request = {label: _number(n / requests) for label, n in found.items()}
        return [f"{label} x{n}" if n != 1 else label for label, n in per_request.items()]


def _command_name(command: Any) -> str:
    args = getattr(command, "args", None) or command[0]
    name = args[0]
    return (name.decode() if isinstance(name, bytes) else str(name)).upper()


def _redis_label(_client: Any, *args: Any, **_kwargs: Any) -> str:
    return f"Redis {_command_name([args])}"


def _pipeline_label(pipeline: Any, *_args: Any, **_kwargs: Any) -> str:
    names = [_command_name(command) for command in pipeline.command_stack]
    return f"Redis PIPELINE[{', '.join(names)}]"


HEALTH_CHECK = "DB health check (SELECT 1, CONN_HEALTH_CHECKS)"


def _sql_label(sql: str) -> str:
    text = " ".join(sql.split())
    table = re.search(r'\bFROM "?([\w.]+)"?', text)
    head = " ".join(text.split()[:2])
    return f"SQL {head}" + (f" ... FROM {table.group(1)}" if table else "")


# (module, class or None, attribute, label): the view's steps. A missing one is skipped.
STEPS: list[tuple[str, str | None, str, str]] = [
    ("django.urls.resolvers", "URLResolver", "resolve", "URL resolving"),
    ("rest_framework.views", "APIView", "dispatch", "DRF dispatch"),
    ("rest_framework.views", "APIView", "initialize_request", "DRF Request wrapper"),
    ("rest_framework.views", "APIView", "initial", "DRF initial (negotiation + checks)"),
    ("rest_framework.views", "APIView", "perform_authentication", "authentication"),
    (
        "rest_framework_simplejwt.authentication",
        "JWTAuthentication",
        "get_validated_token",
        "JWT decode + verify (simplejwt)",
    ),
    ("accounts.authentication", None, "member_access_get", "member access lookup"),
    ("accounts.tenant_api", "TenantApi", "check_permissions", "permissions (capability)"),
    ("accounts.tenant_api", "TenantApi", "check_throttles", "throttles (plan API rate)"),
    ("saas.workspace.apis", "TaskListCreateApi", "get", "view get()"),
    ("api.base", "BaseApi", "query", "query-string validation"),
    ("saas.workspace.apis", None, "query_defaults", "query defaults (empty query string)"),
    ("saas.workspace.selectors", None, "task_page", "task page (project check if empty)"),
    ("saas.workspace.selectors", None, "task_rows", "task rows queryset"),
    ("saas.workspace.selectors", None, "project_check", "project existence check"),
    ("api.pagination", "KeysetCursorPagination", "paginate_queryset", "page query"),
    ("rest_framework.serializers", "ListSerializer", "to_representation", "serialisation"),
    ("saas.workspace.apis", None, "task_rows_output", "serialisation (task_rows_output)"),
    ("django.db.models.sql.compiler", "SQLCompiler", "execute_sql", "ORM execute_sql"),
    ("django.db.models.sql.compiler", "SQLCompiler", "as_sql", "ORM compile (as_sql)"),
    ("django.db.backends.base.base", "BaseDatabaseWrapper", "cursor", "connection.cursor()"),
    (
        "api.pagination",
        "KeysetCursorPagination",
        "get_paginated_response",
        "envelope (next/previous)",
    ),
    ("rest_framework.views", "APIView", "finalize_response", "DRF finalize_response"),
    ("django.template.response", "SimpleTemplateResponse", "render", "response.render()"),
    ("rest_framework.renderers", "JSONRenderer", "render", "JSON rendering"),
]


@contextmanager
def _patched(recorder: Recorder, *, steps: bool) -> Iterator[list[str]]:
    """Installs the timers (class and module attributes), yields the steps not found."""
    import redis.client

    undo: list[tuple[Any, str, Any]] = []
    missing: list[str] = []

    def patch(owner: Any, attribute: str, label: Any) -> None:
        original = getattr(owner, attribute)  # a plain function, on a class or a module
        undo.append((owner, attribute, original))
        setattr(owner, attribute, recorder.timed(label, original))

    patch(redis.client.Redis, "execute_command", _redis_label)
    patch(redis.client.Pipeline, "execute", _pipeline_label)
    # CONN_HEALTH_CHECKS: Django's SELECT 1 on the raw connection before a request's first
    # query; a round trip that execute_wrapper and CaptureQueriesContext do not see.
    patch(type(connections["default"]), "is_usable", HEALTH_CHECK)
    if steps:
        for module_name, class_name, attribute, label in STEPS:
            try:
                owner: Any = importlib.import_module(module_name)
                owner = getattr(owner, class_name) if class_name else owner
                if class_name and attribute not in owner.__dict__:
                    raise AttributeError(attribute)
                getattr(owner, attribute)
            except (ImportError, AttributeError):
                missing.append(f"{module_name}.{class_name or ''}.{attribute}")
                continue
            patch(owner, attribute, label)

    def sql(execute: Callable[..., Any], query: str, *args: Any) -> Any:
        return recorder.timed(_sql_label(query), execute)(query, *args)

    try:
        with connection.execute_wrapper(sql):
            yield missing
    finally:
        for owner, attribute, original in reversed(undo):
            setattr(owner, attribute, original)


def _next_node(instance: Any) -> tuple[Any, Callable[[Any], None]] | None:
    """The next node of a middleware (object or function) and how to replace it."""
    if instance is None:
        return None
    if hasattr(instance, "get_response"):
        return instance.get_response, lambda new: setattr(instance, "get_response", new)
    for cell in getattr(instance, "__closure__", None) or ():  # function middleware
        contents = cell.cell_contents
        if callable(contents) and hasattr(contents, "__wrapped__"):
            return contents, lambda new, cell=cell: setattr(cell, "cell_contents", new)
    return None


def _time_middleware(recorder: Recorder, handler: WSGIHandler) -> None:
    """Each middleware's get_response (the next one in the chain) timed, so a middleware's
    self time is its own work; the last node is Django's _get_response (URL, view, render).
    Nodes are named after settings.MIDDLEWARE, in order (the chain is built from it).
    api.middleware.ApiBypassMiddleware sends API requests straight to that last node (its
    `view`), past the HTML side's middlewares: timed under the same name."""
    from django.conf import settings

    names = [f"middleware {path.rsplit('.', 1)[-1]}" for path in settings.MIDDLEWARE]
    names.append("Django _get_response (URL, view, render)")
    chain: Any = handler._middleware_chain  # type: ignore[attr-defined]
    handler._middleware_chain = recorder.timed(names[0], chain)  # type: ignore[attr-defined]
    node = chain
    for label in names[1:]:
        instance = getattr(node, "__wrapped__", None)
        if callable(getattr(instance, "view", None)):
            instance.view = recorder.timed(names[-1], instance.view)  # type: ignore[union-attr]
        found = _next_node(instance)
        if found is None:
            break
        following, replace = found
        replace(recorder.timed(label, following))
        node = following


def _environ(host: str, path: str, token: str) -> dict[str, Any]:
    request = RequestFactory().get(path, HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
    return request.environ


def _call(handler: WSGIHandler, environ: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
        status.append(line)

    response: Any = handler(dict(environ), start_response)  # type: ignore[arg-type]
    try:
        body = b"".join(response)
    finally:
        response.close()
    return status[0], body


def _check(status: str, body: bytes, rows: int | None = None) -> None:
    if not status.startswith("200"):
        raise RuntimeError(f"the task list answered {status}: {body[:300]!r}")
    if rows is not None and len(json.loads(body)["results"]) != rows:
        raise RuntimeError(f"expected {rows} rows: {body[:300]!r}")


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else round(value, 2)


def count_per_request(host: str, path: str, token: str, n: int = 5) -> dict[str, Any]:
    from tenants.db import schema_activate_public

    handler = WSGIHandler()
    environ = _environ(host, path, token)
    for _ in range(5):
        _check(*_call(handler, environ))
    recorder = Recorder()
    try:
        with _patched(recorder, steps=False), CaptureQueriesContext(connection) as captured:
            recorder.active = True
            for _ in range(n):
                _check(*_call(handler, environ))
            recorder.active = False
    finally:
        schema_activate_public()
    sql_queries = recorder.count("SQL ")
    return {
        "sql_queries_per_request": _number(sql_queries / n),
        "sql_queries_captured_per_request": _number(len(captured.captured_queries) / n),
        "db_health_checks_per_request": _number(recorder.count(HEALTH_CHECK) / n),
        "redis_round_trips_per_request": _number(recorder.count("Redis ") / n),
        "redis_commands": recorder.labels("Redis ", n),
        "sql": recorder.labels("SQL ", n),
        "requests_measured": n,
        "measured": MEASURED,
    }


def _by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """cProfile's self time grouped by where the code lives."""
    grouped: dict[str, float] = {}
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        if "site-packages" in filename:
            after = filename.split("site-packages", 1)[1].strip("/\\")
            package = re.split(r"[/\\]", after)[0].removesuffix(".py")
        elif filename.startswith(str(REPO)):
            package = "ours: " + re.split(r"[/\\]", os.path.relpath(filename, REPO))[0]
        elif filename.startswith("~") or filename.startswith("<"):
            package = "builtins (C calls: socket, json, hashing ...)"
        else:
            package = "stdlib"
        grouped[package] = grouped.get(package, 0.0) + tottime
    return sorted(grouped.items(), key=lambda item: -item[1])


def profile(host: str, path: str, token: str, n: int = 300) -> dict[str, Any]:
    from tenants.db import schema_activate_public

    handler = WSGIHandler()
    environ = _environ(host, path, token)
    try:
        for _ in range(20):
            _check(*_call(handler, environ), rows=20)
        plain: list[float] = []
        for _ in range(n):
            started = time.perf_counter()
            _call(handler, environ)
            plain.append((time.perf_counter() - started) * 1000)

        recorder = Recorder()
        _time_middleware(recorder, handler)
        request = recorder.timed("request (WSGIHandler.__call__ + close)", _call)
        with _patched(recorder, steps=True) as missing:
            recorder.active = True
            for _ in range(n):
                request(handler, environ)
            recorder.active = False

        profiler = cProfile.Profile()
        fresh = WSGIHandler()
        _call(fresh, environ)
        profiler.enable()
        for _ in range(n):
            _call(fresh, environ)
        profiler.disable()
    finally:
        schema_activate_public()
    OUT.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(OUT / "task_list.pstats")
    stats = pstats.Stats(profiler)
    total_profiled = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    top = io.StringIO()
    pstats.Stats(profiler, stream=top).sort_stats("cumulative").print_stats(30)
    return {
        "requests": n,
        "uninstrumented_ms_per_request": {
            "mean": round(statistics.mean(plain), 3),
            "p50": round(statistics.median(plain), 3),
        },
        "tree": [
            {
                "path": list(path),
                "calls_per_request": _number(node.calls / n),
                "ms_per_request": round(node.total_ns / n / 1e6, 4),
                "self_ms_per_request": round((node.total_ns - node.child_ns) / n / 1e6, 4),
            }
            for path, node in recorder.nodes.items()
        ],
        "steps_not_found": missing,
        "cprofile_ms_per_request": round(total_profiled / n * 1000, 3),
        "cprofile_self_ms_by_package": [
            (package, round(seconds / n * 1000, 3)) for package, seconds in _by_package(stats)
        ],
        "cprofile_top_cumulative": top.getvalue(),
    }


def _tree_lines(report: dict[str, Any]) -> list[str]:
    rows = sorted(report["tree"], key=lambda row: row["path"])
    order: dict[tuple[str, ...], int] = {}
    # Children in first-seen order under their parent: re-sort by the recorded order.
    for index, row in enumerate(report["tree"]):
        order[tuple(row["path"])] = index

    def key(row: dict[str, Any]) -> list[int]:
        path = tuple(row["path"])
        return [order.get(path[: i + 1], 0) for i in range(len(path))]

    rows.sort(key=key)
    lines = [f"{'section':78} {'calls':>5} {'total ms':>9} {'self ms':>8}"]
    for row in rows:
        depth = len(row["path"]) - 1
        label = ("  " * depth + row["path"][-1])[:78]
        lines.append(
            f"{label:78} {row['calls_per_request']:>5} {row['ms_per_request']:9.3f} "
            f"{row['self_ms_per_request']:8.3f}"
        )
    return lines


def run() -> list[dict[str, Any]]:
    from bench.http_tasks import _ours_cleanup, seed_ours

    n = int(os.environ.get("BENCH_PROFILE_REQUESTS", "300"))
    try:
        seeded = seed_ours()
        counted = count_per_request(seeded.host, seeded.path, seeded.token())
        report = profile(seeded.host, seeded.path, seeded.token(), n=n)
    finally:
        _ours_cleanup()
    report["per_request"] = counted
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "profile.json").write_text(json.dumps(report, indent=2) + "\n")
    out = sys.stderr
    print(f"[bench profile] {n} requests, in-process (no socket, no load generator)", file=out)
    print(f"[bench profile] uninstrumented: {report['uninstrumented_ms_per_request']}", file=out)
    for line in _tree_lines(report):
        print(f"[bench profile] {line}", file=out)
    print(f"[bench profile] cProfile: {report['cprofile_ms_per_request']} ms/request", file=out)
    for package, ms in report["cprofile_self_ms_by_package"][:20]:
        print(f"[bench profile]   self {ms:7.3f} ms  {package}", file=out)
    print(report["cprofile_top_cumulative"], file=out)
    print("[bench profile] written to build/bench/profile.json, build/bench/task_list.pstats")
    return [
        {
            "bench": "task_list_profile",
            "requests": n,
            "uninstrumented_ms_per_request": report["uninstrumented_ms_per_request"],
            "cprofile_ms_per_request": report["cprofile_ms_per_request"],
            **{k: v for k, v in counted.items() if k != "measured"},
        }
    ]
