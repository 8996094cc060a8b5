"""The import graph of `apps/`, read with `ast`: layers, circles and module sizes.

Every import counts wherever it stands (module level, inside a function, under `TYPE_CHECKING`):
a lazy import hides a dependency from the reader, not from the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# DESIGN.md "Data flow", lowest first. An app imports only apps of lower layers: never one above
# it, never one beside it. `api` (plumbing) and `audit` (the trail) are the ground floor and import
# no app of ours; `accounts` (staff sign-in) and `partners` (tokens, later their events) stand on the
# gate, below the clinical apps that will announce events to partners.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"api", "audit"}),
    frozenset({"clinics"}),
    frozenset({"accounts", "partners"}),
    frozenset({"patients"}),
    frozenset({"assessments"}),
    frozenset({"programs"}),
    frozenset({"scheduling"}),
    # FHIR maps every clinical app's rows, outcomes' signed progress reports (DiagnosticReport)
    # among them, so it stands above outcomes; nothing below it imports it.
    frozenset({"reminders", "outcomes"}),
    frozenset({"fhir"}),
    frozenset({"web"}),
    frozenset({"demo"}),
)
MAX_MODULE_LINES = 400


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module (or package), dotted
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if "migrations" not in path.relative_to(root).parts:
            yield path


def _imported(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(root: Path, path: Path, modules: frozenset[str]) -> Iterator[Import]:
    """The imports of one file that name a module of `root`'s tree."""
    module = module_name(root, path)
    prefix = root.name + "."
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _imported(node, module, path.name == "__init__.py")
            # `from apps.audit import events` imports the module apps.audit.events.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target.startswith(prefix) or target == root.name:
                yield Import(module, target, node.lineno)


def import_graph(root: Path) -> list[Import]:
    files = list(source_files(root))
    modules = frozenset(module_name(root, path) for path in files)
    return [found for path in files for found in imports_of(root, path, modules)]


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_of(app: str) -> int | None:
    return next((number for number, apps in enumerate(LAYERS) if app in apps), None)


def layer_violations(graph: list[Import]) -> list[str]:
    problems = []
    for found in graph:
        source, target = app_of(found.source), app_of(found.target)
        if source is None or target is None or source == target:
            continue
        low, high = layer_of(target), layer_of(source)
        if low is None or high is None:
            continue  # an app missing from LAYERS is reported by unplaced_apps
        if source == "api":
            problems.append(f"{found}: apps/api is plumbing and imports no app of ours")
        elif low > high:
            problems.append(f"{found}: {source} imports {target}, a layer above it")
        elif low == high:
            problems.append(f"{found}: {source} imports {target}, beside it in the same layer")
    return problems


def unplaced_apps(root: Path) -> list[str]:
    apps = sorted(path.parent.name for path in root.glob("*/__init__.py"))
    return [app for app in apps if layer_of(app) is None]


def circles(graph: list[Import]) -> list[str]:
    """Every circle of module imports, each named once with the imports that close it."""
    edges: dict[str, dict[str, Import]] = {}
    for found in graph:
        if found.source != found.target:
            edges.setdefault(found.source, {}).setdefault(found.target, found)
    found_circles: dict[frozenset[str], str] = {}
    for start in sorted(edges):
        path = [start]
        stack = [iter(sorted(edges.get(start, {})))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                path.pop()
            elif target == start:
                members = frozenset(path)
                if members not in found_circles:
                    hops = [edges[a][b] for a, b in zip(path, [*path[1:], start], strict=True)]
                    found_circles[members] = " -> ".join(str(hop) for hop in hops)
            elif target not in path and target > start:  # each circle is walked from its least module
                path.append(target)
                stack.append(iter(sorted(edges.get(target, {}))))
    return sorted(found_circles.values())


def oversized_modules(root: Path) -> list[str]:
    sizes = ((path, len(path.read_text().splitlines())) for path in source_files(root))
    limit = MAX_MODULE_LINES
    return [f"{path} has {lines} lines (at most {limit})" for path, lines in sizes if lines > limit]


def project_imports(root: Path, project: Path) -> list[str]:
    """Imports under `root` of the wiring package `project` (read separately: it is not in the tree)."""
    files = list(source_files(root))
    problems = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                if name == project.name or name.startswith(project.name + "."):
                    where = f"{module_name(root, path)}:{node.lineno} imports {name}"
                    problems.append(f"{where}: an app never imports {project.name}/ (it wires the apps)")
    return problems
