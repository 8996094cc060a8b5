"""FHIR R4 REST endpoints under /fhir/R4/: read and search, `application/fhir+json`, same tokens and tenancy.

Decisions:
- `metadata` needs no authentication (conventional: clients read it before they authenticate). It
  says what the server does, nothing about any patient or tenant.
- Everything else uses the API's authentication (partner Bearer token, or a staff session) and the
  same tenancy gate: a row outside the principal's clinics is 404, exactly like a wrong id.
- Search is strict: an unknown or unsupported parameter is a 400 OperationOutcome, never silently
  ignored (a client that filters on something we ignore would otherwise get too much data).
- `patient=<id>` (or `Patient/<id>`) of a patient outside the principal's clinics is a 404, the
  same answer the read of that patient gets.
- `_lastUpdated` takes the prefixes gt, ge, lt, le (repeatable, ANDed) on an instant with a zone
  or a date (midnight UTC); anything else is 400.
- Each type's own parameters (Patient `identifier`, `name`…, Observation `code`, `date`…, Device …):
  `apps.fhir.filters`, `apps.fhir.devices`, parsed by `apps.fhir.matching` and `apps.fhir.search`. A
  malformed value (a date, `_count`, an empty value) is a 400 naming the parameter; a well-formed value
  that names nothing (an unknown code, an MRN of elsewhere) matches nothing.
- Paging: `_count` (default 20, capped at 100) and an opaque keyset cursor `_page` in the `next`
  link, newest first; the `next` link carries every other parameter as given, `self` is the request.
  `total` is the number of matches of the whole search. `_summary=count` gives the total alone:
  no entries, so nothing read and nothing audited. Schedule and Device (a few machines per clinic)
  list every match in their fixed order, paged by offset.
- Every resource about a patient that a response carries writes one read audit event (reads via
  `record`; a search page through the row path, one INSERT whichever tables it shows).
  Organization, Location, Schedule and Device (a machine) carry no patient data and are not audited.
- Appointment, Slot and Schedule: see `apps.fhir.appointments` (a Slot is the busy time of a live
  appointment; free times are the partner API's, per program).
- The builders (`apps.fhir.mapping`) return the JSON itself, as plain dicts; the views hand it to the
  renderer unchanged. The R4 models validate it in the tests, not on the request path.

`FHIR_TYPES` (`apps.fhir.capabilities`) is the one table that drives both the URL routing
(`apps.fhir.urls`) and the CapabilityStatement, so the statement lists exactly the interactions served.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import Http404
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.audit import events
from apps.clinics.api_base import ScopedAPIView
from apps.fhir import mapping, search
from apps.fhir.capabilities import FHIR_TYPES, FhirType
from apps.fhir.errors import error_for, invalid, outcome_body
from apps.fhir.mapping import Json
from apps.fhir.renderers import FhirContentNegotiation, FhirJsonRenderer


class FhirView(ScopedAPIView):
    """Base of the FHIR views: FHIR JSON in and out, every 4xx an OperationOutcome, not in the OpenAPI schema."""

    schema = None  # the OpenAPI schema documents /api/ only
    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = FhirContentNegotiation
    http_method_names = ["get", "head", "options"]

    def handle_exception(self, exc: Exception) -> Response:
        status, code, diagnostics, expression, headers = error_for(self, exc)
        return Response(outcome_body(code, diagnostics, expression), status=status, headers=headers)

    def resource_response(self, resource: Json) -> Response:
        return Response(resource)


class MetadataView(FhirView):
    """GET metadata: the CapabilityStatement. Open to anyone (it holds no data)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        base_url = request.build_absolute_uri("/fhir/R4")
        statement = mapping.capability_statement(
            base_url=base_url,
            interactions={fhir_type.name: fhir_type.interactions for fhir_type in FHIR_TYPES},
            search_params={fhir_type.name: fhir_type.search_params for fhir_type in FHIR_TYPES},
        )
        return self.resource_response(statement)


class ReadView(FhirView):
    """GET <Type>/<id>."""

    fhir_type: FhirType | None = None  # set by the URL table

    def get(self, request: Request, resource_id: str) -> Response:
        read = self.fhir_type.read if self.fhir_type is not None else None
        if read is None:
            raise Http404
        unknown = set(request.query_params) - {"_format"}
        if unknown:
            raise invalid(f"Unsupported parameter(s) on read: {', '.join(sorted(unknown))}.")
        resource, row = read(request.user, resource_id)
        if row is not None:
            events.record(action=events.Action.READ, obj=row, actor=request.user)
        return self.resource_response(resource)


class SearchView(FhirView):
    """GET <Type>?params: a searchset Bundle, newest first, paged by an opaque `_page` cursor."""

    fhir_type: FhirType | None = None  # set by the URL table

    def get(self, request: Request) -> Response:
        fhir_type = self.fhir_type
        if fhir_type is None or not (fhir_type.search or fhir_type.listing):
            raise Http404
        params = request.query_params
        unknown = set(params) - search.COMMON_PARAMS - fhir_type.accepted
        if unknown:
            names = ", ".join(sorted(unknown))
            raise invalid(f"Unsupported search parameter(s) for {fhir_type.name}: {names}.", sorted(unknown)[0])
        for name in params:
            if name not in fhir_type.repeatable and len(params.getlist(name)) > 1:
                raise invalid(f"{name} may be given once.", name)
        count = search.page_size(params.get("_count"))
        only_total = search.summary_count(params.get("_summary"))
        condition = search.narrowing(fhir_type.filters, params)
        if fhir_type.listing is not None:
            return self._listing(request, fhir_type, condition, count, only_total)
        condition &= search.last_updated_filter(params.getlist("_lastUpdated"))
        conditions = {source: condition & search.narrowing(source.filters, params) for source in fhir_type.search}
        patient_id = search.patient_of(request.user, params["patient"]) if "patient" in params else None
        if only_total:
            total = search.search_total(conditions, request.user, patient_id=patient_id)
            bundle = mapping.searchset_bundle([], total=total, self_url=request.build_absolute_uri())
            return self.resource_response(bundle)
        cursor = search.decode_cursor(params["_page"]) if "_page" in params else None

        page = search.search_page(conditions, request.user, patient_id=patient_id, cursor=cursor, count=count)
        resources = search.page_resources(page)
        search.record_page_reads(page, actor=request.user)
        next_url = self._next_url(request, search.encode_cursor(*page.after)) if page.after is not None else None
        bundle = mapping.searchset_bundle(
            resources, total=page.total, self_url=request.build_absolute_uri(), next_url=next_url
        )
        return self.resource_response(bundle)

    def _listing(self, request: Request, fhir_type: FhirType, condition: Q, count: int, only_total: bool) -> Response:
        """A small table of no patient's data (Schedule, Device): every match, `count` a page, paged by offset."""
        resources = fhir_type.listing(request.user, condition)
        page = request.query_params.get("_page")
        offset = search.decode_offset(page) if page is not None and not only_total else 0
        shown = [] if only_total else resources[offset : offset + count]
        more = not only_total and offset + count < len(resources)
        bundle = mapping.searchset_bundle(
            shown,
            total=len(resources),
            self_url=request.build_absolute_uri(),
            next_url=self._next_url(request, search.encode_offset(offset + count)) if more else None,
        )
        return self.resource_response(bundle)

    def _next_url(self, request: Request, page: str) -> str:
        """This search with every parameter as given, on the page after this one."""
        query = request.query_params.copy()
        query["_page"] = page
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
