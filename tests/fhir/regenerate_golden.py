"""Rewrite the named cases of `golden.json` from the builders as they are now; every other case stays as it is.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python -m tests.fhir.regenerate_golden <case> [<case> …]

Only for a change of a builder's output made on purpose (a new element, a new case of `golden_rows.CASES`):
name the cases it changes, then read `git diff tests/fhir/golden.json` — it must show that change alone.
The file is written as it is kept: two-space indent, UTF-8 characters as they are, one trailing newline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GOLDEN_PATH = Path(__file__).parent / "golden.json"


def main(names: list[str]) -> None:
    import django

    django.setup()
    from apps.fhir.renderers import FhirJsonRenderer
    from tests.fhir.golden_rows import CASES

    unknown = sorted(set(names) - set(CASES))
    if unknown or not names:
        raise SystemExit(f"name cases of golden_rows.CASES (unknown: {', '.join(unknown) or 'none given'})")
    golden = json.loads(GOLDEN_PATH.read_text())
    for name in names:
        golden[name] = json.loads(FhirJsonRenderer().render(CASES[name]()))
    GOLDEN_PATH.write_text(json.dumps(golden, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
