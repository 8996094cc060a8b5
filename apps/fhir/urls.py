"""/fhir/R4/ routes, generated from `FHIR_TYPES`: the same table the CapabilityStatement is built from."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from apps.fhir.capabilities import FHIR_TYPES
from apps.fhir.errors import not_found
from apps.fhir.views import MetadataView, ReadView, SearchView

app_name = "fhir"


def _type_routes() -> list[URLPattern]:
    routes = []
    for fhir_type in FHIR_TYPES:
        if fhir_type.search or fhir_type.listing is not None:
            routes.append(
                path(fhir_type.name, SearchView.as_view(fhir_type=fhir_type), name=f"{fhir_type.name}-search-type")
            )
        if fhir_type.read is not None:
            routes.append(
                path(
                    f"{fhir_type.name}/<str:resource_id>",
                    ReadView.as_view(fhir_type=fhir_type),
                    name=f"{fhir_type.name}-read",
                )
            )
    return routes


urlpatterns = [
    path("metadata", MetadataView.as_view(), name="metadata"),
    *_type_routes(),
    # Anything else under /fhir/R4/ is an OperationOutcome, with DEBUG on too.
    re_path(r"^.*$", not_found, name="not-found"),
]
