"""The audit report in the admin: filters, scope, CSV export (itself audited)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.audit import events, exports
from apps.audit.models import Action, Event
from tests import factories

REPORT = "admin:audit_event_changelist"
EXPORT = "admin:audit_event_export"
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def clinic_admin_b(clinic_b):
    return factories.StaffFactory(username="clinic_admin_b", clinic=clinic_b, role="clinic_admin")


def written(hour: int, action: str, patient, actor_label: str, actor=None) -> Event:
    return Event.objects.create(
        occurred_at=NOON.replace(hour=hour),
        action=action,
        actor=actor,
        actor_label=actor_label,
        organization_id=patient.organization_id,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        object_type="patients.patient",
        object_id=str(patient.pk),
        channel="ui",
    )


@pytest.fixture
def trail(clinician_a, clinician_b, patient_a, patient_b, patient_c):
    """Events at known hours of one day: A's patient read by clinician_a (9h) and updated by a partner
    (10h), B's patient read by clinician_b (11h), C's patient by the platform (12h), a refusal (13h)."""
    refusal = events.denial(path=f"/api/v1/patients/{patient_a.pk}/", actor=clinician_b)
    refusal.occurred_at = NOON.replace(hour=13)
    refusal.save()
    return {
        "a_read": written(9, Action.READ, patient_a, "clinician_a", clinician_a),
        "a_partner": written(10, Action.UPDATE, patient_a, "partner:EHR A"),
        "b_read": written(11, Action.READ, patient_b, "clinician_b", clinician_b),
        "c_read": written(12, Action.READ, patient_c, "system"),
        "refusal": refusal,
    }


@pytest.fixture
def without_coverage_check(settings):
    """Run without the suite's audit-coverage check (tests/audit_coverage.py), which counts every
    patient id in a page as a patient shown. Two ids on the report are not: the id a reader typed
    into the patient filter, echoed back in the form even when no event matches, and the path a
    refused request asked for, which the refusal deliberately leaves unresolved. Every patient id
    an event of the report carries is recorded as read (test_the_report_records_a_read_...)."""
    coverage = "tests.audit_coverage.AuditCoverageMiddleware"
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != coverage]


@pytest.fixture
def report(trail):
    """`report(client, **filters)`: the names of the trail's events the report lists."""

    def listed(client, **params):
        response = client.get(reverse(REPORT), params)
        assert response.status_code == 200
        result = set(response.context["cl"].result_list)
        return {name for name, event in trail.items() if event in result}

    return listed


# --- Filters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"a_read", "a_partner", "b_read", "c_read", "refusal"}),
        ({"patient": "{patient_a}"}, {"a_read", "a_partner"}),
        ({"actor": "clinician_b"}, {"b_read", "refusal"}),
        ({"actor": "partner:EHR A"}, {"a_partner"}),
        ({"clinic": "{clinic_b}"}, {"b_read"}),
        ({"action": "update"}, {"a_partner"}),
        ({"action": "denied"}, {"refusal"}),
        ({"since": "2026-05-04T10:00", "until": "2026-05-04T12:00"}, {"a_partner", "b_read"}),
        ({"patient": "{patient_a}", "actor": "clinician_a", "until": "2026-05-04T09:30"}, {"a_read"}),
    ],
)
def test_the_report_filters_by_patient_actor_clinic_action_and_time(
    signed_in, superuser, report, patient_a, clinic_b, filters, expected, without_coverage_check
):
    ids = {"patient_a": patient_a.pk, "clinic_b": clinic_b.pk}
    params = {name: value.format(**ids) for name, value in filters.items()}

    assert report(signed_in(superuser), **params) == expected


def test_an_invalid_filter_lists_nothing_and_says_why(signed_in, superuser, report):
    client = signed_in(superuser)
    response = client.get(reverse(REPORT), {"patient": "not-a-uuid"})

    assert list(response.context["cl"].result_list) == []
    assert "Enter a valid UUID." in response.content.decode()


def test_the_report_records_a_read_of_each_event_it_shows_that_names_a_patient(signed_in, clinic_admin_a, trail):
    response = signed_in(clinic_admin_a).get(reverse(REPORT))

    reads = Event.objects.filter(request_id=response["X-Request-ID"], action=Action.READ)
    assert sorted(reads.values_list("object_type", "object_id", "patient_id")) == sorted(
        ("audit.event", str(trail[name].pk), trail[name].patient_id) for name in ("a_read", "a_partner")
    )
    assert {read.actor for read in reads} == {clinic_admin_a}


def test_an_event_page_records_its_read(signed_in, clinic_admin_a, trail):
    event = trail["a_read"]

    response = signed_in(clinic_admin_a).get(reverse("admin:audit_event_change", args=[event.pk]))

    assert response.status_code == 200
    (read,) = Event.objects.filter(request_id=response["X-Request-ID"])
    assert (read.action, read.object_id, read.patient_id, read.clinic_id) == (
        Action.READ,
        str(event.pk),
        event.patient_id,
        event.clinic_id,
    )


# --- Scope -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "expected"),
    [
        ("clinic_admin_a", {"a_read", "a_partner"}),
        ("clinic_admin_b", {"b_read"}),
        ("org_admin", {"a_read", "a_partner", "b_read"}),
        ("outsider", {"c_read"}),
        ("superuser", {"a_read", "a_partner", "b_read", "c_read", "refusal"}),
    ],
)
def test_a_reader_sees_only_the_clinics_they_administer(signed_in, request, report, reader, expected, clinic_admin_b):
    assert report(signed_in(request.getfixturevalue(reader))) == expected


def test_clinic_b_admin_cannot_reach_clinic_a_events_by_any_filter_or_url(
    signed_in, clinic_admin_b, report, trail, patient_a, clinic_a, without_coverage_check
):
    client = signed_in(clinic_admin_b)

    assert report(client, patient=str(patient_a.pk)) == set()
    assert report(client, clinic=str(clinic_a.pk)) == set()  # not a clinic they may choose
    assert client.get(reverse("admin:audit_event_change", args=[trail["a_read"].pk])).status_code == 404
    assert client.get(reverse("admin:audit_event_history", args=[trail["a_read"].pk])).status_code == 404
    assert client.get(reverse("admin:audit_event_change", args=[trail["b_read"].pk])).status_code == 200


@pytest.mark.parametrize("reader", ["clinician_a", "clinician_b"])
def test_a_clinician_may_not_read_the_report_or_export_it(signed_in, request, trail, reader):
    client = signed_in(request.getfixturevalue(reader))

    assert client.get(reverse(REPORT)).status_code == 403
    assert client.get(reverse(EXPORT)).status_code == 403
    assert not Event.objects.filter(action=Action.EXPORT).exists()


def test_nobody_can_change_or_delete_an_event_in_the_admin(signed_in, superuser, trail):
    client = signed_in(superuser)
    event = trail["a_read"]

    assert client.post(reverse("admin:audit_event_change", args=[event.pk]), {"actor_label": "x"}).status_code == 403
    assert client.post(reverse("admin:audit_event_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_event_add")).status_code == 403
    assert Event.objects.get(pk=event.pk).actor_label == "clinician_a"


# --- CSV export ------------------------------------------------------------------------------------


def export(client, **params) -> tuple[list[list[str]], object]:
    response = client.get(reverse(EXPORT), params)
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text))), response


def test_the_export_holds_the_filtered_rows_newest_first_with_every_column(signed_in, clinic_admin_a, trail, patient_a):
    rows, response = export(signed_in(clinic_admin_a), patient=str(patient_a.pk))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    assert rows[0] == list(exports.COLUMNS)
    partner, clinician = trail["a_partner"], trail["a_read"]
    assert [row[0] for row in rows[1:]] == [str(partner.pk), str(clinician.pk)]
    as_dict = dict(zip(rows[0], rows[2], strict=True))
    assert as_dict == {
        "id": str(clinician.pk),
        "occurred_at": "2026-05-04T09:00:00.000000Z",
        "action": "read",
        "actor_label": "clinician_a",
        "actor_id": str(clinician.actor_id),
        "channel": "ui",
        "ip_address": "",
        "request_id": "",
        "organization_id": str(patient_a.organization_id),
        "clinic_id": str(patient_a.clinic_id),
        "patient_id": str(patient_a.pk),
        "object_type": "patients.patient",
        "object_id": str(patient_a.pk),
        "seq": str(Event.objects.get(pk=clinician.pk).seq),
        "hash": Event.objects.get(pk=clinician.pk).hash,
    }
    assert rows[1][rows[0].index("actor_label")] == "partner:EHR A"


def test_the_export_is_itself_audited(signed_in, clinic_admin_a, trail, patient_a):
    client = signed_in(clinic_admin_a)

    export(client, patient=str(patient_a.pk), action="read")

    (event,) = Event.objects.filter(action=Action.EXPORT)
    assert (event.actor, event.actor_label, event.channel, event.object_type) == (
        clinic_admin_a,
        "clinic_admin_a",
        "admin",
        "url",
    )
    assert event.object_id == f"{reverse(EXPORT)}?patient={patient_a.pk}&action=read"
    assert event.patient_id is None


def test_an_export_with_an_invalid_filter_is_refused_and_not_recorded(signed_in, superuser, trail):
    response = signed_in(superuser).get(reverse(EXPORT), {"since": "yesterday"})

    assert response.status_code == 400
    assert not Event.objects.filter(action=Action.EXPORT).exists()


def test_the_export_streams_in_chunks(signed_in, superuser, trail, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)

    rows, _ = export(signed_in(superuser))

    (exported,) = Event.objects.filter(action=Action.EXPORT)  # written first, so it is the newest row
    assert [row[0] for row in rows[1:]] == [str(exported.pk)] + [str(trail[name].pk) for name in reversed(trail)]


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_defused(signed_in, superuser, db):
    Event.objects.create(action="login_failed", actor_label='=HYPERLINK("x")', object_type="url", object_id="/")

    rows, _ = export(signed_in(superuser), action="login_failed")

    assert rows[1][rows[0].index("actor_label")] == '\'=HYPERLINK("x")'


def test_the_report_page_links_to_the_export_of_its_filters(signed_in, superuser, trail):
    response = signed_in(superuser).get(reverse(REPORT), {"action": "read"})

    assert f'href="{reverse(EXPORT)}?action=read"' in response.content.decode()
