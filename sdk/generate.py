"""`make sdk`: the API's clients, generated from the OpenAPI schema the app generates.

    .venv/bin/python sdk/generate.py [--out build/sdk] [--python-only | --typescript-only]

- `<out>/openapi.json`: the schema (`manage.py spectacular`, the settings `saas dev` runs
  with; it needs no database).
- `<out>/python/`: a package (`saas_client`, installable with pip) by openapi-python-client;
  its settings are in sdk/openapi-python-client.yaml. Fails on any generator warning: a
  warning is an endpoint or a model left out.
- `<out>/typescript/`: `schema.d.ts` by openapi-typescript and the typed fetch client of
  sdk/typescript/index.ts (openapi-fetch), compiled to `index.js` + `index.d.ts` after
  sdk/typescript/example.ts type-checks against them. The Node tools are pinned in
  sdk/package.json and its lockfile (`npm ci` when node_modules is missing or stale).

tests/api/test_generated_client.py generates through these functions.
"""

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SDK = Path(__file__).resolve().parent
REPO = SDK.parent
PYTHON_CONFIG = SDK / "openapi-python-client.yaml"
PYTHON_PACKAGE = "saas_client"
TYPESCRIPT_SOURCES = SDK / "typescript"
NODE_MODULES = SDK / "node_modules"
METHODS = {"get", "put", "post", "patch", "delete"}


class SdkError(RuntimeError):
    pass


class NodeToolsUnavailable(SdkError):
    """node/npm are not installed, or `npm ci` could not fetch the pinned tools."""


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - our own tools, no shell
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SdkError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result.stdout + result.stderr


def schema_write(path: Path) -> Path:
    """The OpenAPI document as the app generates it, validated, warnings as errors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DJANGO_ENV": os.environ.get("DJANGO_ENV", "dev")}
    _run(
        [
            sys.executable,
            str(REPO / "manage.py"),
            "spectacular",
            "--format",
            "openapi-json",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(path),
        ],
        cwd=REPO,
        env=env,
    )
    return path


def operation_ids(schema: Path) -> list[str]:
    document = json.loads(schema.read_text())
    return [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]


# ---- Python ---------------------------------------------------------------------------------


def python_client_generate(schema: Path, out: Path) -> Path:
    """openapi-python-client into `out` (replaced); returns the package's directory."""
    env = {
        **os.environ,
        # Its post hooks run ruff: ours, beside this interpreter.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(out),
            "--config",
            str(PYTHON_CONFIG),
            "--meta",
            "setup",
            "--overwrite",
            "--fail-on-warning",
        ],
        cwd=out.parent,
        env=env,
    )
    package = out / PYTHON_PACKAGE
    generated = {p.stem for p in (package / "api").glob("*/*.py") if p.name != "__init__.py"}
    missing = sorted(set(operation_ids(schema)) - generated)
    if missing:
        raise SdkError(f"operations without a function in the Python client: {missing}")
    return package


# ---- TypeScript -----------------------------------------------------------------------------


@contextmanager
def _npm_lock() -> Iterator[None]:
    """One `npm ci` at a time in this checkout (test runs share it)."""
    lock_dir = REPO / "build"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / ".sdk-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def node_tools_install() -> None:
    """`npm ci` in sdk/ unless node_modules already matches the lockfile."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise NodeToolsUnavailable("node and npm are needed for the TypeScript client")
    with _npm_lock():
        marker = NODE_MODULES / ".package-lock.json"
        lockfile = SDK / "package-lock.json"
        if marker.exists() and marker.stat().st_mtime >= lockfile.stat().st_mtime:
            return
        try:
            _run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=SDK)  # noqa: S607
        except SdkError as error:
            raise NodeToolsUnavailable(f"npm ci could not install sdk/'s tools: {error}") from None


def _bin(name: str) -> str:
    return str(NODE_MODULES / ".bin" / name)


TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "lib": ["ES2022", "DOM"],
        "strict": True,
        "noUncheckedIndexedAccess": True,
        "declaration": True,
        "esModuleInterop": True,
        "skipLibCheck": True,
        "outDir": "dist",
    }
}


def typescript_client_generate(schema: Path, out: Path) -> Path:
    """openapi-typescript's types and the openapi-fetch client into `out` (replaced), after
    sdk/typescript/example.ts type-checks against them. Returns `out`."""
    node_tools_install()
    with tempfile.TemporaryDirectory(prefix="saas-sdk-ts-") as scratch_name:
        scratch = Path(scratch_name)
        _run([_bin("openapi-typescript"), str(schema), "-o", str(scratch / "schema.d.ts")], cwd=SDK)
        for source in ("index.ts", "example.ts"):
            shutil.copyfile(TYPESCRIPT_SOURCES / source, scratch / source)
        (scratch / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
        config = {**TSCONFIG, "files": ["index.ts", "example.ts"]}
        (scratch / "tsconfig.json").write_text(json.dumps(config, indent=2))
        _run([_bin("tsc"), "-p", "tsconfig.json"], cwd=scratch)
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        shutil.copyfile(scratch / "schema.d.ts", out / "schema.d.ts")
        for built in ("index.js", "index.d.ts"):  # not example.ts: it only has to compile
            shutil.copyfile(scratch / "dist" / built, out / built)
    fetch_version = json.loads((NODE_MODULES / "openapi-fetch" / "package.json").read_text())
    version = json.loads(schema.read_text())["info"]["version"]
    package = {
        "name": "saas-client",
        "version": version,
        "private": True,
        "type": "module",
        "main": "index.js",
        "types": "index.d.ts",
        "dependencies": {"openapi-fetch": fetch_version["version"]},
    }
    (out / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "sdk")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--python-only", action="store_true")
    only.add_argument("--typescript-only", action="store_true")
    options = parser.parse_args(argv)
    out: Path = options.out.resolve()
    try:
        schema = schema_write(out / "openapi.json")
        print(f"[sdk] schema: {schema} ({len(operation_ids(schema))} operations)")
        if not options.typescript_only:
            package = python_client_generate(schema, out / "python")
            print(f"[sdk] Python client: {package.parent} (pip install {package.parent})")
        if not options.python_only:
            typescript = typescript_client_generate(schema, out / "typescript")
            print(f"[sdk] TypeScript client: {typescript}")
    except SdkError as error:
        print(f"[sdk] {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
