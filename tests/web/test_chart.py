"""The patient chart: its header, charts and lists, its scope, its audit, its query count."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.assessments import scoring
from apps.audit.models import Event
from apps.programs.models import Flag, FlagKind
from apps.web.charts import mcid_threshold
from tests import factories
from tests.web.conftest import chart_url, record_session

pytestmark = pytest.mark.django_db


def series(response) -> dict:
    return response.context["series"]


def test_the_chart_shows_header_programs_and_the_data_of_every_chart(
    signed_in, clinician_a, patient_a, training, machine_a
):
    record_session(training, machine_a, clinician_a, at=timezone.now() - timedelta(hours=2))
    factories.QuestionnaireResponseFactory(patient=patient_a, answers=[3] * 10)  # ODI 60 %
    factories.QuestionnaireResponseFactory(patient=patient_a, instrument="pain_nrs", answers=[6])
    Flag.objects.create(
        patient=patient_a, program=training, kind=FlagKind.PAIN_FLARE, reason="pain 3 to 6", opened_at=timezone.now()
    )

    response = signed_in(clinician_a).get(chart_url(patient_a))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Alvarez, Ana" in content
    assert "A-0001" in content
    assert "Clinic A" in content
    assert "Lumbar (low back): active" in content
    assert "Pain flare" in content
    assert "pain 3 to 6" in content
    data = series(response)
    assert data["timeZone"] == "America/Los_Angeles"
    (strength,) = data["strength"]
    assert strength["unit"] == "ft·lbf"
    assert strength["baseline"]["points"][0] == [0, 230.0]  # the factory's curve, N·m, by angle
    assert [familiarisation for _, _, familiarisation in strength["index"]] == [True, False]
    odi, nrs = data["scores"]
    assert (odi["instrument"], odi["baseline"], odi["threshold"]) == ("odi", 60.0, 50.0)
    assert (nrs["instrument"], nrs["threshold"]) == ("pain_nrs", 4.2)  # 30 % of 6 is less than 2 points
    (loads,) = data["loads"]
    assert [point[1] for point in loads["points"]] == [float(training.proposed_load)]
    assert loads["next"] is not None
    # Passed to the browser as data, not as script: the CSP forbids inline script.
    script = content.split('<script id="chart-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(script) == json.loads(json.dumps(data))
    assert 'src="/static/vendor/chart.js/chart.umd.min.js"' in content


def test_a_strength_comparison_shows_both_units_and_the_change(signed_in, clinician_a, patient_a, training, machine_a):
    stronger = tuple((angle, torque + 20) for angle, torque in factories.DEFAULT_CURVES["lumbar_extension"])
    factories.StrengthTestFactory(patient=patient_a, machine=machine_a, curve=stronger)
    response = signed_in(clinician_a).get(chart_url(patient_a))
    (summary,) = response.context["chart"].strength
    row = summary.rows[0]
    assert (row["angle"], row["before"], row["after"]) == (72, 150, 170)
    assert row["before_unit"] == Decimal("110.6")  # 150 N·m in ft·lbf
    assert "ft·lbf" in response.content.decode()
    assert response.context["series"]["strength"][0]["latest"] is not None


def test_an_empty_chart_says_so(signed_in, clinician_a, patient_a):
    response = signed_in(clinician_a).get(chart_url(patient_a))
    assert response.status_code == 200
    assert b"the charts appear with the first of them" in response.content
    assert b"Reminder history" in response.content


@pytest.mark.parametrize("user", ["clinician_b", "outsider"])
def test_another_clinics_patient_is_404(signed_in, request, patient_a, user):
    client = signed_in(request.getfixturevalue(user))
    assert client.get(chart_url(patient_a)).status_code == 404
    assert client.get(f"/patients/{patient_a.pk}/sessions/").status_code == 404


def test_a_deleted_patient_is_404(signed_in, clinician_a, patient_a):
    patient_a.deleted_at, patient_a.deleted_by = timezone.now(), clinician_a
    patient_a.save()
    assert signed_in(clinician_a).get(chart_url(patient_a)).status_code == 404


def test_a_malformed_id_is_404(signed_in, clinician_a):
    assert signed_in(clinician_a).get("/patients/not-a-uuid/").status_code == 404


def test_viewing_the_chart_is_audited_and_listed_on_it(signed_in, clinician_a, physician_a, patient_a):
    signed_in(physician_a).get(chart_url(patient_a))
    response = signed_in(clinician_a).get(chart_url(patient_a))
    reads = Event.objects.filter(action="read", object_type="patients.patient", object_id=str(patient_a.pk))
    assert sorted(reads.values_list("actor_label", "channel")) == [("clinician_a", "ui"), ("physician_a", "ui")]
    viewers = {viewer["actor_label"] for viewer in response.context["chart"].viewers}
    assert viewers == {"clinician_a", "physician_a"}


def test_the_buttons_follow_the_role(signed_in, clinic_a, patient_a, training):
    desk = factories.StaffFactory(username="desk_a", clinic=clinic_a, role="front_desk")
    content = signed_in(desk).get(chart_url(patient_a)).content.decode()
    assert "Questionnaire" in content
    assert "Record lumbar (low back) session" not in content
    assert "?move=discharged" not in content


def test_the_session_log_page_lists_every_session(signed_in, clinician_a, patient_a, training, machine_a):
    factories.long_history(
        program=training, machine=machine_a, staff=clinician_a, sessions=60, tests=0, questionnaires=0
    )
    response = signed_in(clinician_a).get(f"/patients/{patient_a.pk}/sessions/")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 60
    assert len(response.context["page"].object_list) == 50


# --- Query count -----------------------------------------------------------------------------


def chart_queries(client, patient) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(chart_url(patient)).status_code == 200
    return [query["sql"] for query in queries]


def test_the_chart_lists_the_latest_reminders_in_clinic_time(signed_in, clinician_a, patient_a, clinic_a):
    program = factories.ProgramFactory(patient=patient_a, status="active", started_at=timezone.now())
    due = (timezone.now() - timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    sent = {"state": "sent", "sent_at": due, "message_id": "<r1@spinezone>", "attempts": 1}
    factories.ReminderFactory(program=program, due_at=due, scheduled_for=due, **sent)
    for moment in [due - timedelta(days=4 * n) for n in range(1, 25)]:
        moved = {"state": "cancelled", "cancel_reason": "due_moved"}
        factories.ReminderFactory(program=program, due_at=moment, scheduled_for=moment, **moved)

    response = signed_in(clinician_a).get(chart_url(patient_a))

    shown = response.context["reminder_history"]
    assert len(shown) == 20
    assert shown[0].due_at == due
    text = response.content.decode()
    assert "Reminder history" in text
    local = timezone.localtime(due, clinic_a.tzinfo)
    assert f'title="{local:%a %-d %b %Y, %H:%M} America/Los_Angeles ({local:%Z})">{local:%a %-d %b}</time>' in text
    assert text.count("Due time moved") == 19


def test_the_chart_of_two_years_of_history_reads_with_a_fixed_number_of_queries(signed_in, clinician_a, clinic_a):
    client = signed_in(clinician_a)
    machine = factories.MachineFactory(clinic=clinic_a)

    def patient_with(**sizes):
        patient = factories.PatientFactory(clinic=clinic_a)
        program = factories.ProgramFactory(patient=patient, status="active", started_at=timezone.now())
        factories.long_history(program=program, machine=machine, staff=clinician_a, **sizes)
        return patient

    short = chart_queries(client, patient_with(sessions=5, tests=2, questionnaires=4))
    two_years = chart_queries(client, patient_with(sessions=200, tests=20, questionnaires=50))

    assert len(two_years) == len(short) <= 25, "\n".join(two_years)


# --- The clinically important change line ------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "baseline", "threshold"),
    [
        ("odi", "60", "50"),  # 10 points is less than 30 % of 60
        ("odi", "20", "14"),  # 30 % of 20 is less than 10 points
        ("pain_nrs", "8", "6"),
        ("pain_nrs", "5", "3.5"),
        ("ndi", "20", "15"),  # NDI: 5 raw points only
        ("ndi", "5", "0"),
    ],
)
def test_the_threshold_line_sits_where_scoring_calls_the_change_important(instrument, baseline, threshold):
    line = mcid_threshold(instrument, Decimal(baseline))
    assert line == Decimal(threshold)
    assert scoring.improvement(instrument, baseline, line).important
    if line + Decimal("0.1") < Decimal(baseline):
        assert not scoring.improvement(instrument, baseline, line + Decimal("0.1")).important


@pytest.mark.parametrize(("instrument", "baseline"), [("odi", "0"), ("pain_nrs", "0"), ("ndi", "4.5")])
def test_no_line_when_no_score_can_be_an_important_improvement(instrument, baseline):
    assert mcid_threshold(instrument, Decimal(baseline)) is None
    assert not scoring.improvement(instrument, baseline, 0).important
