"""The OpenAPI document reads well to tools and to people.

- Spectral's default OpenAPI ruleset (`spectral:oas`, the repository's `.spectral.yaml`) finds
  no error and no warning but one rule we keep on purpose (below). Spectral is pinned in
  sdk/package.json and installed with `npm ci`, as `make sdk`'s TypeScript tools are.
- Every tag an operation uses is declared at the top level, with a description (ReDoc and
  Swagger UI show it above the tag's operations).
- No developer text reaches a reader: descriptions are written for API users, never a view's
  or serializer's docstring (module paths, private names, notes to ourselves).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from tests.support.processes import REPO
from tests.support.sdk import sdk_generator

RULESET = REPO / ".spectral.yaml"
INSTALL_HINT = "install Node.js >= 20 with npm, then `npm ci` in sdk/"
# npm's errors when the registry cannot be reached: only then is a missing spectral skipped.
OFFLINE = re.compile(
    r"\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b"
    r"|npm (error|ERR!) network"
)
# Django's URLs end in a slash (APPEND_SLASH); the paths are the API's, clients call them as
# they are. Spectral's style rule against it is the one warning we keep.
KEPT_WARNINGS = {"path-keys-no-trailing-slash"}
SEVERITY = {0: "error", 1: "warning", 2: "info", 3: "hint"}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator(urlconf="config.urls").get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def spectral() -> Path:
    """The pinned spectral from sdk/node_modules (`npm ci` first when it is missing or
    stale), or a skip that says how to install it."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(f"node and npm are not installed: {INSTALL_HINT}")
    generator = sdk_generator()
    try:
        generator.node_tools_install()
    except generator.NodeToolsUnavailable as error:
        if not OFFLINE.search(str(error)):
            raise
        pytest.skip(f"the pinned spectral could not be installed (offline?): {INSTALL_HINT}")
    return generator.NODE_MODULES / ".bin" / "spectral"


@pytest.mark.slow
def test_spectral_default_ruleset_passes(tmp_path: Path) -> None:
    assert RULESET.read_text().split() == ["extends:", '["spectral:oas"]']
    binary = spectral()
    schema = tmp_path / "openapi.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    result = subprocess.run(  # noqa: S603 - our pinned tool, no shell
        [str(binary), "lint", "--ruleset", str(RULESET), "--format", "json", str(schema)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    start = result.stdout.find("[")
    assert start >= 0, result.stdout + result.stderr
    findings = json.loads(result.stdout[start:])
    problems = [
        f"{SEVERITY[f['severity']]} {f['code']} at {'.'.join(map(str, f['path']))}: {f['message']}"
        for f in findings
        if f["severity"] == 0 or (f["severity"] == 1 and f["code"] not in KEPT_WARNINGS)
    ]
    assert problems == []
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_tag_used_is_declared_with_a_description(schema: dict[str, Any]) -> None:
    used = {tag for operation in operations(schema).values() for tag in operation["tags"]}
    declared = [tag["name"] for tag in schema.get("tags", [])]
    assert sorted(declared) == sorted(used)
    assert len(set(declared)) == len(declared)
    assert [t["name"] for t in schema["tags"] if not t.get("description", "").strip()] == []


# What a developer writes and a reader of the docs cannot use: dotted module or attribute
# paths (`services.`, `request.auth`, `Capability.RESOURCES_READ`), private `_names`, code
# blocks, notes to ourselves, and the docstrings of the libraries we build on.
INTERNAL = re.compile(
    r"\b(?:services|selectors|models|apis|views|tasks|serializers|settings|request|self"
    r"|api|accounts|billing|saas|tenants|config)\.[A-Za-z_]"
    r"|\b[A-Z][A-Za-z]+\.[A-Z_]{2,}\b"
    r"|(?<![\w`])_[a-z]\w*"
    r"|\n {4}"
    r"|\b(?:TODO|FIXME|XXX)\b|Thin view|subclass|docstring|[Ss]erializer\b"
    r"|\bTenantGrant\b|Accepts the following|Returns the success/fail",
)


def _descriptions(node: Any, where: str) -> list[tuple[str, str]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                found.append((where, value))
            else:
                found.extend(_descriptions(value, f"{where}.{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_descriptions(value, f"{where}[{index}]"))
    return found


def test_no_developer_text_in_descriptions(schema: dict[str, Any]) -> None:
    leaks = {
        where: text
        for where, text in _descriptions(schema["paths"], "paths")
        + _descriptions(schema["components"], "components")
        if INTERNAL.search(text)
    }
    assert leaks == {}


def test_each_operation_has_its_own_description(schema: dict[str, Any]) -> None:
    """An operation that says nothing of its own inherits a class docstring: a leak."""
    by_text: dict[str, list[str]] = {}
    for name, operation in operations(schema).items():
        by_text.setdefault(operation["description"], []).append(name)
    assert {text: names for text, names in by_text.items() if len(names) > 1} == {}


def test_the_checks_see_a_leak() -> None:
    for text in (
        "Thin view: calls services.project_create.",
        "Each subclass names the capability (request.auth).",
        'capabilities = {"GET": Capability.RESOURCES_READ}',
        "Uses _scheme_and_port.",
        "See saas.workspace.selectors for the filters.",
        "TODO: paginate",
    ):
        assert INTERNAL.search(text), text
    for text in (
        "Page number, from 1 (past the last page: 404).",
        "Signed with one of `STRIPE_WEBHOOK_SECRETS` (`Stripe-Signature: t=...,v1=...`).",
        "Per-field messages for invalid input: a list of strings.",
        "Creates the organization (tenant), its domain `<slug>.<BASE_DOMAIN>`.",
        "`member.` matches every member action.",
        "The key was used for another request. Lists only archived tasks.",
    ):
        assert not INTERNAL.search(text), text
