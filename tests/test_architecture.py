"""The house in order: imports point down the layers of DESIGN.md, no circles, small modules.

The first tests read the real tree; the last ones show, on a small tree made for them, that each
check fails and names the offending import.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture import (
    circles,
    import_graph,
    layer_violations,
    oversized_modules,
    project_imports,
    unplaced_apps,
)

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"


@pytest.fixture(scope="module")
def graph():
    return import_graph(APPS)


def test_every_app_has_its_place_in_the_layers():
    assert unplaced_apps(APPS) == []


def test_no_app_imports_one_above_or_beside_it(graph):
    assert layer_violations(graph) == []


def test_no_modules_import_each_other(graph):
    assert circles(graph) == []


def test_no_app_imports_the_wiring():
    assert project_imports(APPS, ROOT / "spinezone") == []


def test_every_module_has_at_most_400_lines():
    assert oversized_modules(APPS) == []


def test_the_graph_sees_lazy_and_type_checking_imports(graph):
    # A guard on the reader itself: if it stopped seeing imports, every check above would pass.
    assert len(graph) > 300
    sources = {found.source for found in graph}
    assert {"apps.programs.receivers", "apps.assessments.api", "apps.clinics.admin_audit"} <= sources


# --- the checks on a tree made to break them -----------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "apps" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "apps"


@pytest.fixture
def tree(tmp_path):
    packages = ["__init__.py", "api/__init__.py", "clinics/__init__.py", "patients/__init__.py", "web/__init__.py"]
    return lambda files: write(tmp_path, {**dict.fromkeys(packages, ""), **files})


def test_an_upward_import_is_named(tree):
    apps = tree({"clinics/models.py": "def f():\n    from apps.patients import models\n", "patients/models.py": ""})

    assert layer_violations(import_graph(apps)) == [
        "apps.clinics.models:2 imports apps.patients.models: clinics imports patients, a layer above it"
    ]


def test_the_api_plumbing_may_import_no_app(tree):
    apps = tree({"api/views.py": "from apps.clinics.access import gate\n", "clinics/access.py": "gate = 1\n"})

    assert layer_violations(import_graph(apps)) == [
        "apps.api.views:1 imports apps.clinics.access: apps/api is plumbing and imports no app of ours"
    ]


def test_a_downward_import_passes(tree):
    apps = tree({"web/views.py": "from apps.patients.models import Patient\n", "patients/models.py": ""})

    assert layer_violations(import_graph(apps)) == []


def test_a_circle_hidden_in_a_type_checking_block_is_named(tree):
    apps = tree(
        {
            "clinics/models.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import access\n",
            "clinics/access.py": "from apps.clinics.models import Clinic\n",
        }
    )

    assert circles(import_graph(apps)) == [
        "apps.clinics.access:1 imports apps.clinics.models -> apps.clinics.models:3 imports apps.clinics.access"
    ]


def test_an_app_missing_from_the_layers_is_named(tree):
    apps = tree({"billing/__init__.py": ""})

    assert unplaced_apps(apps) == ["billing"]


def test_a_module_over_400_lines_is_named(tree):
    apps = tree({"web/views.py": "x = 1\n" * 401})

    assert oversized_modules(apps) == [f"{apps / 'web' / 'views.py'} has 401 lines (at most 400)"]


def test_an_app_importing_the_wiring_is_named(tree, tmp_path):
    apps = tree({"web/views.py": "from spinezone.settings import DEBUG\n"})

    assert project_imports(apps, tmp_path / "spinezone") == [
        "apps.web.views:1 imports spinezone.settings: an app never imports spinezone/ (it wires the apps)"
    ]
