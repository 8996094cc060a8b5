"""Bundle (searchset), OperationOutcome and CapabilityStatement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from django.utils import timezone

from apps.fhir import codes
from apps.fhir.resources.base import Json, checked, iso
from apps.fhir.resources.search_params import definition_of

# --- Bundle --------------------------------------------------------------------------------------


def _base_of(self_url: str) -> str:
    """https://host/fhir/R4/Patient?x=1 → https://host/fhir/R4 (the type-level search URL's base)."""
    parts = urlsplit(self_url)
    path = parts.path.rstrip("/").rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def searchset_bundle(
    resources: Sequence[Json],
    *,
    total: int,
    self_url: str,
    next_url: str | None = None,
    previous_url: str | None = None,
    base_url: str | None = None,
) -> Json:
    """A page of search results. `fullUrl` is `<base_url>/<Type>/<id>`; `base_url` defaults to
    `self_url` without its query and last path segment (right for type-level searches).
    """
    base = (base_url or _base_of(self_url)).rstrip("/")
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    if previous_url:
        links.append({"relation": "previous", "url": previous_url})
    entries = [
        {
            "fullUrl": f"{base}/{resource['resourceType']}/{resource.get('id')}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    bundle: Json = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if entries:
        bundle["entry"] = entries
    return bundle


# --- OperationOutcome ----------------------------------------------------------------------------


def operation_outcome(severity: str, code: str, diagnostics: str, *, expression: Iterable[str] | None = None) -> Json:
    """One issue. `code` from IssueType (not-found, invalid, security, forbidden, throttled, …)."""
    issue: Json = {
        "severity": checked(severity, codes.ISSUE_SEVERITY, "OperationOutcome.issue.severity"),
        "code": checked(code, codes.ISSUE_TYPE, "OperationOutcome.issue.code"),
        "diagnostics": diagnostics,
    }
    if expression:
        issue["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


# --- CapabilityStatement -------------------------------------------------------------------------

# Defaults: `patient` on patient-compartment resources; `_lastUpdated` where the row has updated_at.
DEFAULT_SEARCH_PARAMS: dict[str, tuple[str, ...]] = {
    "Organization": (),
    "Location": ("_lastUpdated",),
    "Patient": ("_lastUpdated",),
    "Observation": ("patient", "_lastUpdated"),
    "QuestionnaireResponse": ("patient", "_lastUpdated"),
    "CarePlan": ("patient", "_lastUpdated"),
    "Encounter": ("patient", "_lastUpdated"),
    "Appointment": ("patient", "date", "status", "_lastUpdated"),
    "Slot": ("schedule", "start", "status", "_lastUpdated"),
    "Schedule": ("actor",),
}


# What every search takes besides its type's parameters (CapabilityStatement.rest.documentation).
SEARCH_DOCUMENTATION = (
    "Searches are strict: a parameter not declared here, or a malformed value, is a 400 OperationOutcome "
    "naming it; a value that names nothing you may see matches nothing. Every search takes `_count` (1-100, "
    "default 20) and `_summary=count` (the total alone, no entries); pages run newest first, each with its "
    "`self` link and, while more follow, a `next` link that keeps the search's parameters."
)


def _search_param(resource_type: str, name: str) -> Json:
    kind, definition, documentation = definition_of(resource_type, name)
    return {"name": name, "definition": definition, "type": kind, "documentation": documentation}


def capability_statement(
    *,
    base_url: str,
    interactions: Mapping[str, Iterable[str]],
    search_params: Mapping[str, Iterable[str]] | None = None,
    date: datetime | None = None,
    software_version: str | None = None,
) -> Json:
    """What this server does: exactly `interactions` ({"Patient": ["read", "search-type"], …}).

    Search parameters are listed only for types with `search-type`: from `search_params`, else the
    defaults above. Raises ValueError for an interaction outside TypeRestfulInteraction.
    """
    params = {**DEFAULT_SEARCH_PARAMS, **(search_params or {})}
    resources = []
    for resource_type, codes_of_type in interactions.items():
        served = [checked(code, codes.TYPE_RESTFUL_INTERACTION, "interaction.code") for code in codes_of_type]
        resource: Json = {"type": resource_type, "interaction": [{"code": code} for code in served]}
        if "search-type" in served:
            resource["searchParam"] = [_search_param(resource_type, name) for name in params.get(resource_type, ())]
            if not resource["searchParam"]:
                del resource["searchParam"]
        resources.append(resource)
    software: Json = {"name": "SpineZone"}
    if software_version:
        software["version"] = software_version
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": iso(date or timezone.now()),
        "publisher": "SpineZone",
        "kind": "instance",
        "software": software,
        "implementation": {"description": "SpineZone FHIR R4 API", "url": base_url},
        "fhirVersion": codes.FHIR_VERSION,
        "format": [codes.FHIR_JSON],
        "rest": [{"mode": "server", "documentation": SEARCH_DOCUMENTATION, "resource": resources}],
    }
