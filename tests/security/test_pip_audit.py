"""`make lint`'s audit verdicts: findings fail, an audit that could not run is skipped loudly."""

import importlib.util
from types import ModuleType

from tests.support.processes import REPO


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pip_audit_gate", REPO / "ops" / "pip_audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_known_vulnerability_fails() -> None:
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.0", "vulns": []},
            {
                "name": "requests",
                "version": "2.0.0",
                "vulns": [{"id": "PYSEC-2014-13", "fix_versions": ["2.3.0"]}],
            },
        ]
    }
    status, message = _module().verdict(report)
    assert status == 1
    assert "requests 2.0.0: PYSEC-2014-13 (fixed in 2.3.0)" in message


def test_nothing_looked_up_is_skipped_loudly_not_passed_silently() -> None:
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.0", "skip_reason": "Dependency not found"},
            {"name": "celery", "version": "5.4.0", "skip_reason": "Dependency not found"},
        ]
    }
    status, message = _module().verdict(report)
    assert status == 0
    assert message.startswith("pip-audit: SKIPPED (offline?)")


def test_clean_audit_passes_and_names_what_was_not_found() -> None:
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.0", "vulns": []},
            {"name": "private-pkg", "version": "1.0", "skip_reason": "Dependency not found"},
        ]
    }
    status, message = _module().verdict(report)
    assert status == 0
    assert "no known vulnerabilities in 1 packages" in message
    assert "private-pkg" in message
