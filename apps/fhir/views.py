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
- Paging: `_count` (default 20, capped at 100) and an opaque keyset cursor `_page` in the `next`
  link, newest first. `total` is the number of matches of the whole search.
- Every resource about a patient that a response carries writes one read audit event (reads via
  `record`; a search page through the row path, one INSERT whichever tables it shows).
  Organization and Location carry no patient data and are not audited.
- The builders (`apps.fhir.mapping`) return the JSON itself, as plain dicts; the views hand it to the
  renderer unchanged. The R4 models validate it in the tests, not on the request path.

`FHIR_TYPES` is the one table that drives both the URL routing (`apps.fhir.urls`) and the
CapabilityStatement, so the statement lists exactly the interactions served.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.renderers import ORJSONRenderer
from apps.assessments.models import QuestionnaireResponse, StrengthTest, StrengthTestPoint
from apps.audit import events
from apps.clinics.access import clinics_for_user, visible_clinic_ids
from apps.clinics.api_base import ScopedAPIView
from apps.clinics.models import Organization
from apps.fhir import codes, mapping, search
from apps.fhir.mapping import Json
from apps.fhir.resources.administrative import PATIENT_FIELDS
from apps.fhir.resources.clinical import (
    QUESTIONNAIRE_RESPONSE_FIELDS,
    SCORE_OBSERVATION_FIELDS,
    STRENGTH_OBSERVATION_FIELDS,
)
from apps.fhir.search import Source, each
from apps.patients.selectors import patient_list
from apps.programs.models import Program, TrainingSession

DEFAULT_COUNT = 20
MAX_COUNT = 100
COMMON_PARAMS = frozenset({"_count", "_page", "_format"})
LAST_UPDATED_PREFIXES = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
JSON_FORMATS = frozenset({"json", "application/json", codes.FHIR_JSON})


# --- Errors and rendering ------------------------------------------------------------------------


class FhirError(Exception):
    """An error with its HTTP status and OperationOutcome issue code."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: Sequence[str] | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression


def invalid(diagnostics: str, parameter: str | None = None) -> FhirError:
    return FhirError(400, "invalid", diagnostics, [parameter] if parameter else None)


def outcome_body(code: str, diagnostics: str, expression: Sequence[str] | None = None) -> Json:
    return mapping.operation_outcome("error", code, diagnostics, expression=expression)


class FhirJsonRenderer(ORJSONRenderer):
    media_type = codes.FHIR_JSON
    format = "json"


class FhirContentNegotiation(BaseContentNegotiation):
    """Always FHIR JSON: for `_format=json`, an Accept of FHIR JSON, JSON or anything; 406 otherwise."""

    ACCEPTABLE = ("*/*", "application/*", "application/json", codes.FHIR_JSON)

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        renderer = renderers[0]
        wanted = request.query_params.get("_format")
        if wanted is not None:
            if wanted not in JSON_FORMATS:
                raise exceptions.NotAcceptable(f"_format={wanted!r}: only JSON is served.")
            return renderer, renderer.media_type
        accept = request.META.get("HTTP_ACCEPT", "")
        types = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
        if not types or any(media in self.ACCEPTABLE for media in types):
            return renderer, renderer.media_type
        raise exceptions.NotAcceptable("Only application/fhir+json (or application/json) is served.")

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return None


def _error_for(view: FhirView, exc: Exception) -> tuple[int, str, str, Sequence[str] | None, dict[str, str]]:
    if isinstance(exc, FhirError):
        return exc.status, exc.code, exc.diagnostics, exc.expression, {}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        header = view.get_authenticate_header(view.request)
        if header:
            return 401, "login", str(exc.detail), None, {"WWW-Authenticate": header}
        return 403, "forbidden", str(exc.detail), None, {}
    if isinstance(exc, Http404 | exceptions.NotFound):
        return 404, "not-found", "Resource not found.", None, {}
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return 403, "forbidden", "You may not do this.", None, {}
    if isinstance(exc, exceptions.Throttled):
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else {}
        return 429, "throttled", str(exc.detail), None, headers
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, "not-supported", str(exc.detail), None, {}
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, "not-supported", str(exc.detail), None, {}
    if isinstance(exc, exceptions.APIException) and 400 <= exc.status_code < 500:
        return exc.status_code, "invalid", str(exc.detail), None, {}
    raise exc


class FhirView(ScopedAPIView):
    """Base of the FHIR views: FHIR JSON in and out, every 4xx an OperationOutcome, not in the OpenAPI schema."""

    schema = None  # the OpenAPI schema documents /api/ only
    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = FhirContentNegotiation
    http_method_names = ["get", "head", "options"]

    def handle_exception(self, exc: Exception) -> Response:
        status, code, diagnostics, expression, headers = _error_for(self, exc)
        return Response(outcome_body(code, diagnostics, expression), status=status, headers=headers)

    def resource_response(self, resource: Json) -> Response:
        return Response(resource)


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other path under /fhir/R4/: an OperationOutcome, not Django's page."""
    body = outcome_body("not-supported", f"No FHIR interaction at {request.path}.")
    return HttpResponse(json.dumps(body), status=404, content_type=codes.FHIR_JSON)


# --- Reads ---------------------------------------------------------------------------------------


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


def _one(queryset: QuerySet, pk: Any) -> Any:
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


def _records(model: type[Model], user: Any) -> QuerySet:
    """Rows of patient records the user may see, of patients that are not deleted."""
    return model.objects.for_user(user).filter(patient__deleted_at__isnull=True).select_related("patient")


def _strength_tests(user: Any) -> QuerySet:
    return _records(StrengthTest, user).prefetch_related("points")


def _responses(user: Any) -> QuerySet:
    return _records(QuestionnaireResponse, user)


def _programs(user: Any) -> QuerySet:
    return _records(Program, user)


def _sessions(user: Any) -> QuerySet:
    return _records(TrainingSession, user).select_related("clinic", "program")


def _patients(user: Any) -> QuerySet:
    return patient_list(user=user).select_related("organization")


def read_organization(user: Any, pk: str) -> tuple[Json, None]:
    try:
        key = int(pk)
    except ValueError:
        raise Http404 from None
    clinic_ids = visible_clinic_ids(user)
    organizations = Organization.objects.all()
    if clinic_ids is not None:
        organizations = organizations.filter(clinics__in=clinic_ids).distinct()
    return mapping.organization_resource(_one(organizations, key)), None


def read_location(user: Any, pk: str) -> tuple[Json, None]:
    try:
        key = int(pk)
    except ValueError:
        raise Http404 from None
    return mapping.location_resource(_one(clinics_for_user(user), key)), None


def read_patient(user: Any, pk: str) -> tuple[Json, Model]:
    patient = _one(_patients(user), _uuid(pk))
    return mapping.patient_resource(patient), patient


def read_observation(user: Any, pk: str) -> tuple[Json, Model]:
    """A StrengthTest id or a QuestionnaireResponse id (the score): UUIDs never collide."""
    key = _uuid(pk)
    test = _strength_tests(user).filter(pk=key).first()
    if test is not None:
        return mapping.strength_observation(test), test
    response = _one(_responses(user), key)
    return mapping.score_observation(response), response


def read_questionnaire_response(user: Any, pk: str) -> tuple[Json, Model]:
    response = _one(_responses(user), _uuid(pk))
    return mapping.questionnaire_response_resource(response), response


def read_care_plan(user: Any, pk: str) -> tuple[Json, Model]:
    program = _one(_programs(user), _uuid(pk))
    return mapping.care_plan_resource(program), program


def read_encounter(user: Any, pk: str) -> tuple[Json, Model]:
    session = _one(_sessions(user), _uuid(pk))
    return mapping.encounter_resource(session), session


# --- Searches ------------------------------------------------------------------------------------


# Searches load only the columns their builders read, and of the patient only what the read audit
# events name: no column the response does not carry (nothing clinical of the patient).
AUDIT_FIELDS = ("patient__organization", "patient__clinic")


def _strength_tests_shown(user: Any) -> QuerySet:
    return _records(StrengthTest, user).only(*STRENGTH_OBSERVATION_FIELDS, *AUDIT_FIELDS)


def _scores_shown(user: Any) -> QuerySet:
    return _records(QuestionnaireResponse, user).only(*SCORE_OBSERVATION_FIELDS, *AUDIT_FIELDS)


def _responses_shown(user: Any) -> QuerySet:
    return _records(QuestionnaireResponse, user).only(*QUESTIONNAIRE_RESPONSE_FIELDS, *AUDIT_FIELDS)


def _patients_shown(user: Any) -> QuerySet:
    return patient_list(user=user).select_related(None).select_related("organization").only(*PATIENT_FIELDS)


def _strength_observations(tests: list[StrengthTest]) -> list[Json]:
    """The tests' Observations, their curves read in one query (not a prefetch: no object per point)."""
    points = StrengthTestPoint.objects.filter(test_id__in=[test.pk for test in tests]).order_by("test_id", "-angle_deg")
    curves: dict[uuid.UUID, list[tuple[int, Decimal]]] = {}
    for test_id, angle, torque_nm in points.values_list("test_id", "angle_deg", "torque_nm"):
        curves.setdefault(test_id, []).append((angle, torque_nm))
    return [mapping.strength_observation(test, curves.get(test.pk, [])) for test in tests]


@dataclass(frozen=True)
class FhirType:
    """A resource type served: `read(user, id)` → (resource, audited row or None), and its search sources."""

    name: str
    read: Callable[[Any, str], tuple[Json, Model | None]] | None = None
    search: tuple[Source, ...] = ()
    search_params: tuple[str, ...] = field(default=())

    @property
    def interactions(self) -> list[str]:
        served = []
        if self.read is not None:
            served.append("read")
        if self.search:
            served.append("search-type")
        return served


def _last_updated_filter(values: list[str]) -> Q:
    condition = Q()
    for value in values:
        prefix, rest = value[:2], value[2:]
        if prefix not in LAST_UPDATED_PREFIXES:
            raise invalid(f"_lastUpdated={value!r}: use a prefix gt, ge, lt or le.", "_lastUpdated")
        instant = _instant(rest)
        if instant is None:
            raise invalid(f"_lastUpdated={value!r}: not an instant with a time zone, nor a date.", "_lastUpdated")
        condition &= Q(**{f"updated_at__{LAST_UPDATED_PREFIXES[prefix]}": instant})
    return condition


def _instant(text: str) -> datetime | None:
    try:
        if "T" not in text:
            day = parse_date(text)
            return datetime.combine(day, time.min, tzinfo=UTC) if day is not None else None
        moment = parse_datetime(text)
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _count(value: str | None) -> int:
    if value is None:
        return DEFAULT_COUNT
    try:
        count = int(value)
    except ValueError:
        raise invalid(f"_count={value!r}: not a whole number.", "_count") from None
    if count < 1:
        raise invalid("_count must be at least 1.", "_count")
    return min(count, MAX_COUNT)


def encode_cursor(moment: datetime, pk: uuid.UUID) -> str:
    raw = json.dumps({"t": moment.isoformat(), "id": str(pk)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        moment = datetime.fromisoformat(data["t"])
        pk = uuid.UUID(data["id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise invalid("_page is not a page this server handed out.", "_page") from None
    if moment.tzinfo is None:
        raise invalid("_page is not a page this server handed out.", "_page")
    return moment, pk


def _patient_of(user: Any, value: str) -> uuid.UUID:
    """`patient=<id>` or `patient=Patient/<id>`: the patient's id if visible, else 404 like its read.

    Through the same gate as the read (`patient_list`), reading only whether the row is there.
    """
    try:
        key = uuid.UUID(value.removeprefix("Patient/"))
    except ValueError:
        key = None
    if key is None or not patient_list(user=user).filter(pk=key).exists():
        raise FhirError(404, "not-found", f"patient={value!r}: no such patient.", ["patient"])
    return key


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
        if fhir_type is None or not fhir_type.search:
            raise Http404
        params = request.query_params
        unknown = set(params) - COMMON_PARAMS - set(fhir_type.search_params)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise invalid(f"Unsupported search parameter(s) for {fhir_type.name}: {names}.", sorted(unknown)[0])
        for name in params:
            if name != "_lastUpdated" and len(params.getlist(name)) > 1:
                raise invalid(f"{name} may be given once.", name)
        count = _count(params.get("_count"))
        condition = _last_updated_filter(params.getlist("_lastUpdated"))
        patient_id = _patient_of(request.user, params["patient"]) if "patient" in params else None
        cursor = decode_cursor(params["_page"]) if "_page" in params else None

        page = search.search_page(
            fhir_type.search, request.user, condition=condition, patient_id=patient_id, cursor=cursor, count=count
        )
        resources = search.page_resources(page)
        search.record_page_reads(page, actor=request.user)
        next_url = None
        if page.after is not None:
            query = params.copy()
            query["_page"] = encode_cursor(*page.after)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        bundle = mapping.searchset_bundle(
            resources, total=page.total, self_url=request.build_absolute_uri(), next_url=next_url
        )
        return self.resource_response(bundle)


PATIENT_SEARCH = ("patient", "_lastUpdated")

FHIR_TYPES: tuple[FhirType, ...] = (
    FhirType("Organization", read=read_organization),
    FhirType("Location", read=read_location),
    FhirType(
        "Patient",
        read=read_patient,
        search=(Source(_patients_shown, "updated_at", each(mapping.patient_resource), patient_field=None),),
        search_params=("_lastUpdated",),
    ),
    FhirType(
        "Observation",
        read=read_observation,
        search=(
            Source(_strength_tests_shown, "performed_at", _strength_observations),
            Source(_scores_shown, "completed_at", each(mapping.score_observation)),
        ),
        search_params=PATIENT_SEARCH,
    ),
    FhirType(
        "QuestionnaireResponse",
        read=read_questionnaire_response,
        search=(Source(_responses_shown, "completed_at", each(mapping.questionnaire_response_resource)),),
        search_params=PATIENT_SEARCH,
    ),
    FhirType(
        "CarePlan",
        read=read_care_plan,
        search=(Source(_programs, "created_at", each(mapping.care_plan_resource)),),
        search_params=PATIENT_SEARCH,
    ),
    FhirType(
        "Encounter",
        read=read_encounter,
        search=(Source(_sessions, "performed_at", each(mapping.encounter_resource)),),
        search_params=PATIENT_SEARCH,
    ),
)
