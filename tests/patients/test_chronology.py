"""The rules of what a patient's record can hold in time (apps.patients.chronology), by tables of cases.

Arguments of the wrong kind are refused in tests/test_rules_refuse.py; here, well-formed values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.audit.models import Action, Event
from apps.patients import chronology, services
from apps.patients.chronology import (
    BEFORE_BIRTH,
    BIRTH_DATE_OUT_OF_RANGE,
    DEATH_BEFORE_BIRTH,
    DEATH_IN_FUTURE,
    IN_THE_FUTURE,
)
from apps.patients.models import Patient, RedFlagScreen
from apps.patients.screening import LUMBAR_ITEMS

LA = ZoneInfo("America/Los_Angeles")
TODAY = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 10, tzinfo=LA)
BORN = date(1970, 5, 4)


@pytest.mark.parametrize(
    ("born", "problem"),
    [
        (date(2099, 1, 1), BIRTH_DATE_OUT_OF_RANGE),
        (TODAY + timedelta(days=1), BIRTH_DATE_OUT_OF_RANGE),
        (TODAY, None),
        (BORN, None),
        (date(1900, 1, 1), None),
        (date(1899, 12, 31), BIRTH_DATE_OUT_OF_RANGE),
        (date(1800, 6, 1), BIRTH_DATE_OUT_OF_RANGE),
    ],
)
def test_a_birth_date_is_from_1900_to_today(born, problem):
    assert chronology.birth_date_problem(born, today=TODAY) == problem


@pytest.mark.parametrize(
    ("died", "problem"),
    [
        (BORN - timedelta(days=1), DEATH_BEFORE_BIRTH),
        (BORN, None),
        (TODAY, None),
        (TODAY + timedelta(days=1), DEATH_IN_FUTURE),
        (date(2099, 1, 1), DEATH_IN_FUTURE),
    ],
)
def test_a_death_is_from_the_birth_to_today(died, problem):
    assert chronology.death_date_problem(died, born=BORN, today=TODAY) == problem


@pytest.mark.parametrize(
    ("moment", "problem"),
    [
        (NOW + timedelta(minutes=5), None),  # a clock up to five minutes ahead
        (NOW + timedelta(minutes=5, seconds=1), IN_THE_FUTURE),
        (NOW + timedelta(days=400), IN_THE_FUTURE),
        (datetime(1970, 5, 4, 0, 0, tzinfo=LA), None),  # the first instant of the birth date on the clinic's clock
        (datetime(1970, 5, 3, 23, 59, 59, tzinfo=LA), BEFORE_BIRTH),
        (datetime(1970, 5, 4, 6, 59, 59, tzinfo=UTC), BEFORE_BIRTH),  # the birth date in UTC, its eve in LA
        (datetime(1, 1, 1, tzinfo=UTC), BEFORE_BIRTH),  # a partner's zero date: refused, not an overflow
        (NOW, None),
    ],
)
def test_a_clinical_time_falls_between_the_birth_and_a_little_after_now(moment, problem):
    assert chronology.clinical_time_problem(moment, born=BORN, now=NOW, tz=LA) == problem


@pytest.mark.parametrize(
    ("now", "latest"),
    [
        (datetime(2026, 3, 15, 9, 59, tzinfo=UTC), date(2026, 3, 15)),  # 23:59 on the Line Islands
        (datetime(2026, 3, 15, 10, 0, tzinfo=UTC), date(2026, 3, 16)),  # their midnight
        (datetime(2026, 3, 15, 17, 0, tzinfo=LA), date(2026, 3, 16)),  # tomorrow there, 17:00 in Los Angeles
        (datetime(2026, 3, 15, 1, 0, tzinfo=LA), date(2026, 3, 15)),
    ],
)
def test_the_latest_date_is_the_one_begun_in_the_zone_furthest_ahead(now, latest):
    assert chronology.latest_date(now) == latest


def test_whole_seconds_drops_only_the_fraction_of_a_second():
    assert chronology.whole_seconds(datetime(2026, 3, 5, 10, 0, 0, 412_000, tzinfo=LA)) == datetime(
        2026, 3, 5, 10, tzinfo=LA
    )


# --- The red-flag screen's time, in its service ---------------------------------------------------------


@pytest.mark.parametrize(
    ("screened_at", "message"),
    [
        pytest.param(lambda: datetime(1970, 5, 3, 12, tzinfo=LA), BEFORE_BIRTH, id="before-birth"),
        pytest.param(lambda: timezone.now() + timedelta(minutes=10), IN_THE_FUTURE, id="ten-minutes-ahead"),
    ],
)
def test_a_screen_cannot_be_dated_before_the_birth_or_ahead_of_the_clock(clinician_a, patient_a, screened_at, message):
    Patient.objects.filter(pk=patient_a.pk).update(birth_date=BORN)
    patient_a.refresh_from_db()

    with pytest.raises(ValidationError) as refused:
        services.red_flag_screen_record(
            actor=clinician_a,
            patient=patient_a,
            region="lumbar",
            answers=dict.fromkeys(LUMBAR_ITEMS, False),
            screened_at=screened_at(),
        )

    assert refused.value.message_dict == {"screened_at": [message]}
    assert not RedFlagScreen.objects.exists()
    assert not Event.objects.filter(action=Action.CREATE).exists()
