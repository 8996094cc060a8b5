"""`make test`'s dependency audit: pip-audit over requirements.txt (and what it pulls in).

pip-audit resolves requirements.txt to every package it installs and asks PyPI's vulnerability
data about each pinned version. The outcome decides the exit status:

- a known vulnerability in any package: exit 1, naming it (and the fixed versions);
- every package checked, none vulnerable: exit 0;
- some packages could not be checked (the vulnerability service did not answer, or answered
  "not found" for the version): exit 0 with a warning naming how many, because a network that
  cannot reach the service says nothing about our packages and must not fail the suite at
  random. Set AUDIT_REQUIRE_SERVICE=1 (a CI with internet access) to fail instead.

Run from the project root: `python scripts/audit_requirements.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
TIMEOUT_SECONDS = 600


def run_pip_audit(report: Path) -> subprocess.CompletedProcess:
    pip_audit = Path(sys.executable).parent / "pip-audit"
    command = [
        str(pip_audit),
        "--requirement",
        str(REQUIREMENTS),
        "--format",
        "json",
        "--output",
        str(report),
        "--progress-spinner",
        "off",
        "--timeout",
        "30",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)


def summarise(dependencies: list[dict]) -> tuple[list[str], list[str], int]:
    """(vulnerability lines, skip reasons, packages checked)."""
    vulnerable, skipped, checked = [], [], 0
    for dependency in dependencies:
        if "skip_reason" in dependency:
            skipped.append(dependency["skip_reason"])
            continue
        checked += 1
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            vulnerable.append(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    return vulnerable, skipped, checked


def main() -> int:
    strict = os.environ.get("AUDIT_REQUIRE_SERVICE", "").strip().lower() in {"1", "true", "yes", "on"}
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "audit.json"
        try:
            result = run_pip_audit(report)
        except subprocess.TimeoutExpired:
            return unchecked(f"pip-audit did not finish within {TIMEOUT_SECONDS} s", strict)
        if not report.exists():
            return unchecked(f"pip-audit failed before auditing:\n{result.stderr.strip()[-2000:]}", strict)
        dependencies = json.loads(report.read_text())["dependencies"]
    vulnerable, skipped, checked = summarise(dependencies)
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} known vulnerabilities in requirements.txt:", *vulnerable, sep="\n  ")
        return 1
    if skipped:
        example = skipped[0]
        return unchecked(
            f"{len(skipped)} of {len(dependencies)} packages could not be checked (e.g. {example!r}); "
            f"{checked} checked, none vulnerable",
            strict,
        )
    print(f"pip-audit: 0 known vulnerabilities in the {checked} packages requirements.txt installs.")
    return 0


def unchecked(why: str, strict: bool) -> int:
    print(f"pip-audit: WARNING: the audit is incomplete: {why}.", file=sys.stderr)
    print("pip-audit: PyPI's vulnerability data was not reachable from this network.", file=sys.stderr)
    return 1 if strict else 0


if __name__ == "__main__":
    sys.exit(main())
