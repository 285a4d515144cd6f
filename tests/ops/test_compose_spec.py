"""docker-compose.yml is valid against the Compose Specification's JSON schema, without Docker.

tests/ops/compose-spec.json is the compose-spec project's schema/compose-spec.json
(Apache-2.0, Copyright 2020 The Compose Specification Authors; licence and NOTICE in
tests/ops/compose-spec.LICENSE), taken unchanged from the npm package dclint 3.1.0 (MIT), which
ships it as schemas/compose.schema.json: `npm pack dclint@3.1.0`. To update it, copy that file
from a newer dclint (or the compose-spec project itself) and change SCHEMA_SHA256 below.

The compose file is read as `docker compose` reads it before validating: YAML anchors and
merge keys resolved (PyYAML does), `x-` extension keys allowed by the schema itself.
"""

import copy
import hashlib
import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.processes import REPO

SCHEMA = REPO / "tests" / "ops" / "compose-spec.json"
SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"


def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"].startswith("https://json-schema.org/draft-07/")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def errors(document: dict[str, Any]) -> list[str]:
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator().iter_errors(document)
    )


def test_the_vendored_schema_is_the_one_named_above() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_docker_compose_yml_is_valid_compose() -> None:
    assert errors(compose()) == []


def _unknown_service_key(doc: dict[str, Any]) -> None:
    doc["services"]["web"]["portz"] = ["8000:8000"]


def _unknown_top_level_key(doc: dict[str, Any]) -> None:
    doc["servicez"] = doc["services"]


def _bad_depends_on_condition(doc: dict[str, Any]) -> None:
    doc["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"


def _ports_not_a_list(doc: dict[str, Any]) -> None:
    doc["services"]["web"]["ports"] = {"8000": 8000}


def _unknown_key_in_deploy(doc: dict[str, Any]) -> None:
    doc["services"]["web-replica"]["deploy"]["replica"] = 3


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        # An unknown key matches no property, so only the `x-` extension pattern is left.
        (_unknown_service_key, "services/web: 'portz' does not match any of the regexes"),
        (_unknown_top_level_key, "(top): 'servicez' does not match any of the regexes"),
        (_bad_depends_on_condition, "services/web/depends_on"),
        (_ports_not_a_list, "services/web/ports: "),
        (_unknown_key_in_deploy, "services/web-replica/deploy: 'replica' does not match"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] or None,
)
def test_a_broken_copy_of_it_is_refused(breakage: Any, where: str) -> None:
    broken = copy.deepcopy(compose())
    breakage(broken)

    found = errors(broken)

    assert any(error.startswith(where) for error in found), found
