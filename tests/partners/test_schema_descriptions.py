"""Every operation of the published schema is described for a partner, not by an internal docstring."""

from __future__ import annotations

import re

import pytest
import yaml

pytestmark = pytest.mark.django_db
# Words of the code's internals: a description that says them was written for us, not for a partner.
INTERNAL = re.compile(
    r"django|scopes?\b|queryset|principal|\bORM\b|apps\.\w+|select_related|docstring|serializer|"
    r"\bgate\b|swagger_fake_view|cursor page|one audited r",
    re.IGNORECASE,
)
MIN_DESCRIPTION = 120  # characters: what it does, the rules it applies and the errors it returns


def operations(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_summary_and_a_description_written_for_partners(client):
    problems = []
    for name, operation in operations(client):
        summary, description = operation.get("summary", ""), operation.get("description", "")
        if not summary:
            problems.append(f"{name}: no summary")
        if len(description) < MIN_DESCRIPTION:
            problems.append(f"{name}: a description of {len(description)} characters")
        if found := INTERNAL.search(description):
            problems.append(f"{name}: speaks of {found.group(0)!r}")
    assert problems == []


def test_every_write_shows_an_example_body(client):
    missing = [
        name
        for name, operation in operations(client)
        if name.split()[0] in ("POST", "PATCH")
        and not any("examples" in media for media in operation.get("requestBody", {}).get("content", {}).values())
    ]
    assert missing == []
