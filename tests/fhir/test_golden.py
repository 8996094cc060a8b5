"""Golden JSON: every builder writes, byte for byte, what it wrote when it built `fhir.resources` models.

`golden.json` was captured from the builders as they were before they wrote JSON by hand: each built its
`fhir.resources.R4B` model, dumped with `model_dump(mode="json", exclude_none=True)`, rendered by the FHIR
renderer, for the fixed rows of `golden_rows.py`. The JSON built by hand must render to the same bytes,
and each golden body must still be the JSON the R4B models write (`r4.parsed`), so neither side drifts.

A change of a builder's output made on purpose (the CapabilityStatement's parameter documentation, the
Device builder) rewrites only the cases it changes: `python -m tests.fhir.regenerate_golden <case> …`
(see that module), and the diff of `golden.json` must show that change alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from apps.fhir.renderers import FhirJsonRenderer
from tests.fhir.golden_rows import CASES
from tests.fhir.r4 import parsed

GOLDEN = json.loads((Path(__file__).parent / "golden.json").read_text())


def test_every_case_has_its_golden_json():
    assert set(GOLDEN) == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_the_builder_renders_its_golden_json_byte_for_byte(name):
    assert FhirJsonRenderer().render(CASES[name]()) == orjson.dumps(GOLDEN[name])


@pytest.mark.parametrize("name", list(CASES))
def test_the_golden_json_is_r4_as_the_library_writes_it(name):
    parsed(GOLDEN[name])
