"""No clinic sees another's patients: every URL pattern, every role and token kind, generated.

One world: clinics A and B of one organization, clinic C of another, each with a full set of
rows (patient, program, test, questionnaire, session, flag, screen, reminder, staff, partner,
token, audit event) whose text carries markers unique to that clinic. Each principal is sent at
every URL pattern aimed at the rows it must not see (`tests/security/isolation.py` says how),
with every method. An answer reveals nothing when it is not 2xx/3xx-to-the-row, has the status
an unknown id gets, and carries none of the foreign markers.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.audit.models import Event
from apps.clinics.models import Membership, OrganizationAdmin
from apps.outcomes.models import ProgressReport
from apps.partners.models import Partner, PartnerToken
from apps.patients.models import RedFlagScreen
from apps.programs.models import Flag, FlagKind, TrainingSession
from apps.scheduling.models import Appointment, BookedVia
from tests import factories
from tests.auth import sign_in
from tests.partners.fixtures import issue_token  # noqa: F401
from tests.security import isolation
from tests.security.isolation import URLS, Public, Target

pytestmark = pytest.mark.django_db
# Pages answer GET and POST; the partner interfaces every method (HEAD runs GET's code).
PAGE_METHODS = ("GET", "POST")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CLINICS = ("a", "b", "c")
NATO = {"a": "alfa", "b": "bravo", "c": "charlie"}


def url_patterns(patterns=None, prefix="", namespace=()):
    """(key, route, pattern) of every URL pattern; the key is its name, or its route when unnamed."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + ((pattern.namespace,) if pattern.namespace else ())
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            yield (":".join((*namespace, pattern.name)) if pattern.name else route), route, pattern


def test_every_url_pattern_is_covered():
    keys = {key for key, _route, _pattern in url_patterns()}
    assert sorted(keys - set(URLS)) == [], "add these URL patterns to tests/security/isolation.py"
    assert sorted(set(URLS) - keys) == [], "these entries of tests/security/isolation.py match no URL pattern"


# --- the world --------------------------------------------------------------------------------------


@dataclass
class Rows:
    code: str
    rows: dict[str, Any]
    markers: tuple[str, ...]


def build_rows(code: str, clinic, organization) -> Rows:
    word = NATO[code]
    staff = factories.StaffFactory(username=f"staff-{word}", clinic=clinic, first_name=f"Stf{word}")
    machine = factories.MachineFactory(clinic=clinic, serial_number=f"SN-{word}")
    patient = factories.PatientFactory(
        clinic=clinic,
        given_name=f"Giv{word}",
        family_name=f"Fam{word}",
        mrn=f"MRK-{word}",
        email=f"mail.{word}@example.test",
        phone=f"+1 555 {word}",
    )
    program = factories.ProgramFactory(patient=patient, prescribed_by=staff, status_reason=f"Why{word}")
    test = factories.StrengthTestFactory(patient=patient, machine=machine, recorded_by=staff)
    response = factories.QuestionnaireResponseFactory(patient=patient, recorded_by=staff)
    session = factories.TrainingSessionFactory(
        program=program, patient=patient, clinic=clinic, machine=machine, supervisor=staff
    )
    now = timezone.now()
    flag = Flag.objects.create(
        patient=patient, program=program, kind=FlagKind.PAIN_FLARE, reason=f"Flr{word}", opened_at=now
    )
    screen = RedFlagScreen.objects.create(
        patient=patient, clinic=clinic, region="lumbar", answers={}, result="clear", screened_by=staff, screened_at=now
    )
    reminder = factories.ReminderFactory(patient=patient, program=program)
    partner = Partner.objects.create(organization=organization, name=f"Ptn{word}", contact_email=f"it@{word}.test")
    partner.clinics.set([clinic])
    event = Event.objects.create(
        action="read",
        actor_label=f"Act{word}",
        organization=organization,
        clinic=clinic,
        patient=patient,
        object_type="patients.patient",
        object_id=str(patient.pk),
        channel="ui",
    )
    org_admin = OrganizationAdmin.objects.filter(organization=organization).first()
    authenticator = Authenticator.objects.create(
        user=staff, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    calendar = factories.ClinicCalendarFactory(clinic=clinic)
    factories.OpeningHoursFactory(calendar=calendar)
    factories.ClosureFactory(calendar=calendar, reason=f"Hol{word}")
    start = now.replace(microsecond=0) + timedelta(days=2)
    appointment = Appointment.objects.create(
        patient=patient,
        program=program,
        clinic=clinic,
        machine=machine,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        booked_via=BookedVia.STAFF,
        early_reason=f"Erl{word}",
    )
    report = ProgressReport.objects.create(
        patient=patient,
        program=program,
        clinic=clinic,
        organization=organization,
        period_start=now - timedelta(days=30),
        period_end=now,
        sessions_completed=0,
        content={"patient": {"name": f"Fam{word}, Giv{word}"}},
        note=f"Rpt{word}",
        signed_by=staff,
        signed_by_name=f"Stf{word}",
        signed_by_role="Physical therapist",
        signed_at=now,
        pdf=f"%PDF-1.7 Pdf{word}".encode(),  # stored, so a FHIR read need not make one
    )
    rows = {
        isolation.CLINIC: clinic,
        isolation.ORGANIZATION: organization,
        isolation.MACHINE: machine,
        isolation.MEMBERSHIP: Membership.objects.get(user=staff),
        isolation.STAFF: staff,
        isolation.PATIENT: patient,
        isolation.PROGRAM: program,
        isolation.TEST: test,
        isolation.RESPONSE: response,
        isolation.SESSION: session,
        isolation.FLAG: flag,
        isolation.SCREEN: screen,
        isolation.REMINDER: reminder,
        isolation.PARTNER: partner,
        isolation.EVENT: event,
        isolation.ORG_ADMIN: org_admin,
        isolation.AUTHENTICATOR: authenticator,
        isolation.CALENDAR: calendar,
        isolation.APPOINTMENT: appointment,
        isolation.REPORT: report,
    }
    markers = (
        f"Giv{word}",
        f"Fam{word}",
        f"MRK-{word}",
        f"mail.{word}",
        f"555 {word}",
        f"Flr{word}",
        f"Why{word}",
        f"Hol{word}",
        f"Erl{word}",
        f"Rpt{word}",
    )
    return Rows(code, rows, markers)


@pytest.fixture
def world(organization, other_organization, clinic_a, clinic_b, clinic_c, issue_token):  # noqa: F811
    factories.OrganizationAdminFactory(organization=organization, user__username="org_admin")
    factories.OrganizationAdminFactory(organization=other_organization, user__username="org_admin_c")
    clinics = {"a": (clinic_a, organization), "b": (clinic_b, organization), "c": (clinic_c, other_organization)}
    built = {code: build_rows(code, *clinics[code]) for code in CLINICS}
    for code, rows in built.items():
        # A token per partner: the tokens admin needs a row to aim at, and principals use A's.
        issue_token(rows.rows[isolation.PARTNER], "read_write", name=f"tok-{code}")
        rows.rows[isolation.TOKEN] = PartnerToken.objects.get(name=f"tok-{code}")
    return built


@dataclass
class Principal:
    name: str
    sees: frozenset[str]  # the clinics whose rows it may see
    user: Any = None
    token: str | None = None


@pytest.fixture
def principals(world, clinic_a, issue_token):  # noqa: F811
    roles = (
        "physician",
        "physician_assistant",
        "physical_therapist",
        "exercise_physiologist",
        "front_desk",
        "clinic_admin",
    )
    cast = [
        Principal(role, frozenset("a"), factories.StaffFactory(username=f"p-{role}", clinic=clinic_a, role=role))
        for role in roles
    ]
    cast.append(Principal("org_admin", frozenset("ab"), OrganizationAdmin.objects.get(user__username="org_admin").user))
    cast.append(
        Principal("outsider_admin", frozenset("c"), OrganizationAdmin.objects.get(user__username="org_admin_c").user)
    )
    partner_a = world["a"].rows[isolation.PARTNER]
    cast.append(Principal("partner_read", frozenset("a"), token=issue_token(partner_a, "read", name="reader")))
    cast.append(Principal("partner_write", frozenset("a"), token=issue_token(partner_a, "read_write", name="writer")))
    return cast


# --- aiming -----------------------------------------------------------------------------------------


def fill(route: str, values: dict[str, Any]) -> str:
    path = route
    for name, value in values.items():
        for converter in ("uuid", "int", "str", "path", ""):
            path = path.replace(f"<{converter}:{name}>" if converter else f"<{name}>", str(value))
    return "/" + path


def shared(row: Any, principal: Principal, world: dict[str, Rows]) -> bool:
    """A row that is also a row of a clinic the principal sees (an organization, its admins)."""
    return any(row == world[code].rows.get(kind) for code in principal.sees for kind in world[code].rows)


def id_of(row: Any) -> Any:
    return row.pk


def unknown_like(row: Any) -> Any:
    return 987654321 if isinstance(row.pk, int) else uuid.uuid4()


def query_values(rows: Rows) -> dict[str, Any]:
    patient = rows.rows[isolation.PATIENT]
    return {
        "patient": patient.pk,
        "mrn": patient.mrn,
        "name": patient.family_name,
        "birth_date": patient.birth_date.isoformat(),
        "clinic": rows.rows[isolation.CLINIC].pk,
        "program": rows.rows[isolation.PROGRAM].pk,
        "machine": rows.rows[isolation.MACHINE].pk,
    }


def autocomplete_queries() -> list[str]:
    """Every autocomplete field of the admin, searching for a foreign marker."""
    queries = []
    for model, model_admin in admin.site._registry.items():
        for field_name in getattr(model_admin, "autocomplete_fields", ()):
            opts = model._meta
            queries.append(
                f"?app_label={opts.app_label}&model_name={opts.model_name}&field_name={field_name}&term={{name}}"
            )
            queries.append(
                f"?app_label={opts.app_label}&model_name={opts.model_name}&field_name={field_name}&term={{mrn}}"
            )
    return queries


class Caller:
    def __init__(self, principal: Principal):
        self.principal = principal
        self.client = Client(raise_request_exception=True)
        if principal.user is not None:
            sign_in(self.client, principal.user)  # with the second factor, for the admins

    def send(self, method: str, url: str) -> Any:
        headers = (
            {"HX-Request": "true"} if method == "GET" and "/patients/" in url and not url.startswith("/api") else {}
        )
        if self.principal.token:
            headers["Authorization"] = f"Bearer {self.principal.token}"
        body = {}
        if method in ("POST", "PUT", "PATCH"):
            body = {"data": json.dumps({"clinic": 0}), "content_type": "application/json"}
        return getattr(self.client, method.lower())(url, headers=headers, **body)


def leaked(response: Any, markers: tuple[str, ...]) -> list[str]:
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    text = body.decode("utf-8", "replace")
    return [marker for marker in markers if marker in text]


# --- the test ---------------------------------------------------------------------------------------


def test_no_principal_sees_another_clinics_rows_anywhere(world, principals, capsys, settings):
    """Report: the number of attempts and their statuses. Goal: 0 revealing answers, ≥ 10,000 attempts."""
    # Each principal sends well over the per-principal budget a minute; a 429 for both the foreign and the
    # unknown id would pass without checking anything (throttling has its own tests).
    settings.API_THROTTLE_RATE = "1000000/min"
    before = snapshot(world)
    attempts, statuses, failures = 0, Counter(), []
    routes = {key: route for key, route, _pattern in url_patterns()}
    for principal in principals:
        caller = Caller(principal)
        foreign = [world[code] for code in CLINICS if code not in principal.sees]
        markers = tuple(itertools.chain.from_iterable(rows.markers for rows in foreign))
        unknown_status: dict[tuple[str, str], int] = {}
        for key, route in routes.items():
            spec = URLS.get(key)  # a pattern missing from the table fails test_every_url_pattern_is_covered
            if spec is None or isinstance(spec, Public):
                continue
            if isinstance(spec, Target):
                for method in API_METHODS if key.startswith(("api:", "fhir:")) else PAGE_METHODS:
                    baseline = unknown_status.get((key, method))
                    if baseline is None:
                        values = {arg: unknown_like(world["a"].rows[kind]) for arg, kind in spec.kinds.items()}
                        values = _view_on_site(key, values, world["a"])
                        baseline = caller.send(method, fill(route, values)).status_code
                        unknown_status[(key, method)] = baseline
                    for rows in foreign:
                        if any(shared(rows.rows[kind], principal, world) for kind in spec.kinds.values()):
                            continue  # clinic B's organization is also clinic A's
                        values = {arg: id_of(rows.rows[kind]) for arg, kind in spec.kinds.items()}
                        url = fill(route, _view_on_site(key, values, rows))
                        response = caller.send(method, url)
                        attempts += 1
                        statuses[response.status_code] += 1
                        problem = _target_problem(response, baseline, markers)
                        if problem:
                            failures.append((principal.name, method, url, response.status_code, problem))
            else:
                queries = autocomplete_queries() if key == "admin:autocomplete" else spec.queries
                for rows, query in itertools.product(foreign, queries):
                    filled = query.format(**query_values(rows))
                    url = fill(route, {}) + filled
                    for method in ("GET", "POST"):
                        response = caller.send(method, url)
                        attempts += 1
                        statuses[response.status_code] += 1
                        echoed = {str(value) for value in query_values(rows).values() if str(value) in filled}
                        found = [m for m in leaked(response, markers) if not any(m in e for e in echoed)]
                        if response.status_code >= 500 or found:
                            failures.append((principal.name, method, url, response.status_code, found or "5xx"))
    with capsys.disabled():
        print(
            f"\nisolation: {attempts} attempts by {len(principals)} principals; "
            f"statuses {dict(sorted(statuses.items()))}"
        )
    grouped = Counter(  # one line per pattern and status, ids folded
        (name, re.sub(r"/[0-9a-f-]{1,36}/", "/<id>/", url), status, str(problem))
        for name, _m, url, status, problem in failures
    )
    assert failures == [], "\n".join(f"{n} x {key}" for key, n in grouped.most_common(40))
    assert attempts >= 10_000
    assert snapshot(world) == before, "a foreign row changed"


def _view_on_site(key: str, values: dict[str, Any], rows: Rows) -> dict[str, Any]:
    if key == "admin:view_on_site":
        return {"content_type_id": ContentType.objects.get_for_model(rows.rows[isolation.PATIENT]).pk, **values}
    return values


def _target_problem(response: Any, baseline: int, markers: tuple[str, ...]) -> str | None:
    status = response.status_code
    if 200 <= status < 300:
        return "2xx for a foreign row"
    if status >= 500:
        return "server error"
    if status != baseline:
        return f"status differs from an unknown id's ({baseline})"
    found = leaked(response, markers)
    return f"markers {found}" if found else None


def snapshot(world) -> dict[str, Any]:
    """Every foreign row as stored (all fields), to prove no attempt changed one."""
    state = {}
    for code, rows in world.items():
        for kind, row in rows.rows.items():
            if row is None:
                continue
            fresh = type(row)._base_manager.filter(pk=row.pk).values().first()
            state[(code, kind)] = fresh
    state["sessions"] = TrainingSession.objects.count()
    return state


def test_a_marker_in_a_response_is_caught(world):
    # The detector must be able to fail: clinic A's own chart shows clinic A's markers.
    client = sign_in(Client(), world["a"].rows[isolation.STAFF])
    response = client.get(reverse("web:chart", args=[world["a"].rows[isolation.PATIENT].pk]))
    assert response.status_code == 200
    assert leaked(response, world["a"].markers)


def test_the_world_has_every_kind_for_every_clinic(world):
    kinds = {kind for spec in URLS.values() if isinstance(spec, Target) for kind in spec.kinds.values()}
    for rows in world.values():
        assert kinds <= set(rows.rows)
        assert timezone.now() - rows.rows[isolation.EVENT].occurred_at < timedelta(minutes=5)
