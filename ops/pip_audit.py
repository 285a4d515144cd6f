"""`make lint`'s vulnerability audit: pip-audit over the installed packages.

Known vulnerabilities fail. pip-audit needs the vulnerability database from the package
index; offline, it cannot look anything up and reports every package as skipped (or cannot
connect at all). That is said loudly and does not fail the lint: an audit that could not run
is not a finding. Run `make lint` where the index is reachable (CI) to get the real answer.
"""

import json
import subprocess
import sys
from typing import Any

_NETWORK_ERRORS = (
    "ConnectionError",
    "NewConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "timed out",
)


def verdict(report: dict[str, Any]) -> tuple[int, str]:
    """(exit status, message) for pip-audit's JSON report."""
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    audited = [d for d in deps if "skip_reason" not in d]
    if vulnerable:
        lines = [
            f"  {d['name']} {d['version']}: "
            + ", ".join(
                f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['?'])})"
                for v in d["vulns"]
            )
            for d in vulnerable
        ]
        return 1, "pip-audit: KNOWN VULNERABILITIES\n" + "\n".join(lines)
    if deps and not audited:
        return 0, (
            "pip-audit: SKIPPED (offline?): no package could be looked up in the vulnerability "
            f"database ({len(deps)} skipped). Nothing was audited; run it with network access."
        )
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    note = f" ({len(skipped)} not found in the index: {', '.join(skipped)})" if skipped else ""
    return 0, f"pip-audit: no known vulnerabilities in {len(audited)} packages{note}"


def main() -> int:
    cmd = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off"]
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [*cmd, "--format", "json"], capture_output=True, text=True, check=False
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        if any(marker in done.stderr for marker in _NETWORK_ERRORS):
            print("pip-audit: SKIPPED (offline): the vulnerability database is unreachable.")
            print("\n".join(done.stderr.strip().splitlines()[-3:]))
            return 0
        print(done.stdout + done.stderr)
        return done.returncode or 1
    status, message = verdict(report)
    print(message)
    return status


if __name__ == "__main__":
    sys.exit(main())
