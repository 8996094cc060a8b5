"""Fixed, unsaved rows for the golden JSON of every FHIR builder (`golden.json`, `test_golden.py`).

Nothing here touches the database: ids, timestamps and decimals are literal, so a builder's JSON is
the same on every run. The values cover the formats that matter byte for byte: instants in UTC
(with and without microseconds) and at a non-UTC offset, dates, decimals with a scale (as the
database returns them) and without one, integers, optional elements present and absent.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from apps.assessments import scoring
from apps.assessments.models import QuestionnaireResponse, StrengthTest, StrengthTestPoint
from apps.clinics.models import Clinic, Machine, Organization
from apps.fhir import mapping
from apps.patients.models import Patient
from apps.programs.models import Program, TrainingSession

UTC = dt.UTC
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
BASE = "https://api.example.test/fhir/R4"
FIXED_DATE = dt.datetime(2025, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{n:012d}")


def _at(day: int, micro: int = 0, tz: Any = UTC) -> dt.datetime:
    return dt.datetime(2025, 3, day, 9, 30, 15, micro, tzinfo=tz)


def organization() -> Organization:
    return Organization(pk=7, name="Acme Spine", slug="acme")


def clinic_full() -> Clinic:
    return Clinic(
        pk=11,
        organization=organization(),
        name="Clinic A",
        address_line="1 Spine Way",
        city="San Diego",
        postal_code="92101",
        country="US",
        phone="+1 619 555 0100",
        timezone="America/Los_Angeles",
        is_active=True,
        updated_at=_at(4, 891011),
    )


def clinic_bare() -> Clinic:
    return Clinic(
        pk=12, organization_id=7, name="Clinic B", timezone="Europe/Berlin", is_active=False, updated_at=_at(5)
    )


def clinic_city_only() -> Clinic:
    return Clinic(
        pk=13, organization_id=7, name="Clinic C", city="Austin", timezone="America/Chicago", updated_at=_at(6)
    )


def patient_full() -> Patient:
    return Patient(
        pk=_id(1),
        organization=organization(),
        clinic_id=11,
        mrn="A-0001",
        given_name="Ana",
        family_name="Álvarez",
        birth_date=dt.date(1980, 2, 29),
        sex="female",
        email="ana@example.test",
        phone="+1 619 555 0199",
        preferred_language="es",
        deceased_on=dt.date(2025, 1, 31),
        deleted_at=_at(7),
        updated_at=_at(8, 120000, LOS_ANGELES),
    )


def patient_minimal() -> Patient:
    return Patient(
        pk=_id(2),
        organization=organization(),
        clinic_id=12,
        mrn="B-0002",
        given_name="Bo",
        family_name="Berg",
        birth_date=dt.date(1975, 12, 1),
        sex="unknown",
        preferred_language="",
        updated_at=_at(9, 5),
    )


def patient_unknown_language() -> Patient:
    patient = patient_minimal()
    patient.pk, patient.sex, patient.preferred_language, patient.email = _id(3), "other", "xx", "bo@example.test"
    return patient


def _strength_test(pk: int, region: str, points: list[tuple[int, str]], **values: Any) -> StrengthTest:
    test = StrengthTest(
        pk=_id(pk),
        patient_id=_id(1),
        clinic_id=11,
        region=region,
        performed_at=_at(10, 431000),
        created_at=_at(10, 432001),
        updated_at=_at(11),
        **values,
    )
    test._prefetched_objects_cache = {
        "points": [StrengthTestPoint(test=test, angle_deg=angle, torque_nm=Decimal(nm)) for angle, nm in points]
    }
    return test


def strength_lumbar() -> StrengthTest:
    points = [(72, "180.50"), (60, "210.00"), (48, "232.25"), (36, "245.10"), (24, "250.00"), (12, "240.75")]
    points.append((0, "228.40"))
    return _strength_test(
        21,
        "lumbar",
        points,
        is_familiarization=False,
        rom_min_deg=0,
        rom_max_deg=72,
        peak_torque_nm=Decimal("250.00"),
        strength_index_nm_deg=Decimal("16234.5"),
    )


def strength_cervical_in_memory() -> StrengthTest:
    # Decimals without a scale (as a factory writes them before a save): whole numbers stay integers.
    return _strength_test(
        22,
        "cervical",
        [(126, "40"), (90, "55.5"), (0, "0.00")],
        is_familiarization=True,
        rom_min_deg=18,
        rom_max_deg=126,
        peak_torque_nm=Decimal("55"),
        strength_index_nm_deg=Decimal("4321.0"),
    )


def strength_without_points() -> StrengthTest:
    return _strength_test(
        23,
        "lumbar",
        [],
        is_familiarization=False,
        rom_min_deg=6,
        rom_max_deg=66,
        peak_torque_nm=Decimal("0.50"),
        strength_index_nm_deg=Decimal("12.3"),
    )


def _response(pk: int, instrument: str, answers: list[Any], score: str, band: str) -> QuestionnaireResponse:
    return QuestionnaireResponse(
        pk=_id(pk),
        patient_id=_id(1),
        clinic_id=11,
        instrument=instrument,
        answers=answers,
        score=Decimal(score),
        band=band,
        completed_at=_at(12, 1000),
        created_at=_at(12, 2000),
        updated_at=_at(13, 0, LOS_ANGELES),
    )


def odi() -> QuestionnaireResponse:
    return _response(31, scoring.ODI, [2, 2, 2, 2, 2, 2, 1, None, 1, 1], "32.0", "moderate")


def ndi() -> QuestionnaireResponse:
    return _response(32, scoring.NDI, [1, 2, 3], "20.0", "")


def nrs() -> QuestionnaireResponse:
    return _response(33, scoring.PAIN_NRS, [7], "7.0", "")


def nrs_unanswered() -> QuestionnaireResponse:
    return _response(34, scoring.PAIN_NRS, [], "0", "")


def program_active() -> Program:
    return Program(
        pk=_id(41),
        patient_id=_id(1),
        clinic_id=11,
        region="lumbar",
        load_unit="ft_lbf",
        status="active",
        sessions_per_week=2,
        planned_weeks=10,
        start_load=Decimal("90.00"),
        current_load=Decimal("105.00"),
        started_at=_at(14, 700000),
        created_at=_at(14),
        updated_at=_at(15, 1),
    )


def program_discharged() -> Program:
    return Program(
        pk=_id(42),
        patient_id=_id(1),
        clinic_id=12,
        region="cervical",
        load_unit="in_lbf",
        status="discharged",
        sessions_per_week=1,
        planned_weeks=8,
        start_load=Decimal("12.5"),
        started_at=_at(16),
        ended_at=_at(17, 0, LOS_ANGELES),
        created_at=_at(16),
        updated_at=_at(17),
    )


def program_draft() -> Program:
    return Program(
        pk=_id(43),
        patient_id=_id(2),
        clinic_id=12,
        region="lumbar",
        load_unit="ft_lbf",
        status="draft",
        sessions_per_week=3,
        planned_weeks=12,
        created_at=_at(18),
        updated_at=_at(18),
    )


def program_maintenance() -> Program:
    return Program(
        pk=_id(44),
        patient_id=_id(2),
        clinic_id=11,
        region="lumbar",
        load_unit="ft_lbf",
        status="active",
        phase="maintenance",
        maintenance_interval_weeks=3,
        maintenance_started_at=_at(18),
        sessions_per_week=2,
        planned_weeks=10,
        start_load=Decimal("90.00"),
        current_load=Decimal("120.00"),
        started_at=_at(14),
        created_at=_at(14),
        updated_at=_at(19),
    )


def _session(pk: int, program: Program, status: str) -> TrainingSession:
    return TrainingSession(
        pk=_id(pk),
        program=program,
        patient_id=program.patient_id,
        clinic=clinic_full(),
        performed_at=_at(19, 999999),
        status=status,
        phase=program.phase,
        updated_at=_at(20),
    )


def session_completed() -> TrainingSession:
    return _session(51, program_active(), "completed")


def session_stopped_early() -> TrainingSession:
    return _session(52, program_discharged(), "stopped_early")


def session_maintenance() -> TrainingSession:
    return _session(53, program_maintenance(), "completed")


INTERACTIONS = {
    "Organization": ["read"],
    "Location": ["read"],
    "Patient": ["read", "search-type"],
    "Observation": ["read", "search-type"],
    "QuestionnaireResponse": ["read", "search-type"],
    "CarePlan": ["read", "search-type"],
    "Encounter": ["read", "search-type"],
}
SEARCH_PARAMS = {
    "Organization": (),
    "Location": (),
    "Patient": ("_lastUpdated",),
    "Observation": ("patient", "_lastUpdated"),
    "QuestionnaireResponse": ("patient", "_lastUpdated"),
    "CarePlan": ("patient", "_lastUpdated"),
    "Encounter": ("patient", "_lastUpdated"),
}


def machine_active() -> Machine:
    return Machine(pk=21, clinic=clinic_full(), kind="lumbar_extension", name="Lumbar 1", serial_number="MX-1001")


def machine_inactive() -> Machine:
    clinic = clinic_bare()
    clinic.organization = organization()
    return Machine(
        pk=22, clinic=clinic, kind="cervical_extension", name="Cervical 2", serial_number="MX 2002", is_active=False
    )


def _searchset() -> Any:
    return mapping.searchset_bundle(
        [mapping.strength_observation(strength_lumbar()), mapping.score_observation(odi())],
        total=9,
        self_url=f"{BASE}/Observation?patient={_id(1)}&_count=2",
        next_url=f"{BASE}/Observation?patient={_id(1)}&_count=2&_page=abc",
        previous_url=f"{BASE}/Observation?patient={_id(1)}&_count=2&_page=xyz",
    )


def _mixed_searchset() -> Any:
    resources = [
        mapping.organization_resource(organization()),
        mapping.location_resource(clinic_full()),
        mapping.patient_resource(patient_full()),
        mapping.questionnaire_response_resource(ndi()),
        mapping.care_plan_resource(program_active()),
        mapping.encounter_resource(session_completed()),
    ]
    return mapping.searchset_bundle(resources, total=6, self_url=f"{BASE}/Patient", base_url="https://other.test/r4/")


# name → the builder call whose JSON the golden file holds.
CASES: dict[str, Callable[[], Any]] = {
    "organization": lambda: mapping.organization_resource(organization()),
    "location_full": lambda: mapping.location_resource(clinic_full()),
    "location_bare": lambda: mapping.location_resource(clinic_bare()),
    "location_city_only": lambda: mapping.location_resource(clinic_city_only()),
    "patient_full": lambda: mapping.patient_resource(patient_full()),
    "patient_minimal": lambda: mapping.patient_resource(patient_minimal()),
    "patient_unknown_language": lambda: mapping.patient_resource(patient_unknown_language()),
    "strength_lumbar": lambda: mapping.strength_observation(strength_lumbar()),
    "strength_cervical_in_memory": lambda: mapping.strength_observation(strength_cervical_in_memory()),
    "strength_without_points": lambda: mapping.strength_observation(strength_without_points()),
    "score_odi": lambda: mapping.score_observation(odi()),
    "score_ndi": lambda: mapping.score_observation(ndi()),
    "score_nrs": lambda: mapping.score_observation(nrs()),
    "questionnaire_response_odi": lambda: mapping.questionnaire_response_resource(odi()),
    "questionnaire_response_ndi": lambda: mapping.questionnaire_response_resource(ndi()),
    "questionnaire_response_nrs": lambda: mapping.questionnaire_response_resource(nrs()),
    "questionnaire_response_nrs_unanswered": lambda: mapping.questionnaire_response_resource(nrs_unanswered()),
    "care_plan_active": lambda: mapping.care_plan_resource(program_active()),
    "care_plan_discharged": lambda: mapping.care_plan_resource(program_discharged()),
    "care_plan_draft": lambda: mapping.care_plan_resource(program_draft()),
    "care_plan_maintenance": lambda: mapping.care_plan_resource(program_maintenance()),
    "encounter_completed": lambda: mapping.encounter_resource(session_completed()),
    "encounter_stopped_early": lambda: mapping.encounter_resource(session_stopped_early()),
    "encounter_maintenance": lambda: mapping.encounter_resource(session_maintenance()),
    "device_active": lambda: mapping.device_resource(machine_active()),
    "device_inactive": lambda: mapping.device_resource(machine_inactive()),
    "operation_outcome": lambda: mapping.operation_outcome("error", "not-found", "Patient/x is not known."),
    "operation_outcome_with_expression": lambda: mapping.operation_outcome(
        "warning", "invalid", "_count must be at least 1.", expression=["_count"]
    ),
    "capability_statement": lambda: mapping.capability_statement(
        base_url=BASE, interactions=INTERACTIONS, search_params=SEARCH_PARAMS, date=FIXED_DATE
    ),
    "capability_statement_defaults": lambda: mapping.capability_statement(
        base_url=BASE,
        interactions={"Patient": ["read", "search-type"], "Organization": ["search-type"]},
        date=_at(21, 0, LOS_ANGELES),
        software_version="1.2.3",
    ),
    "bundle_searchset": _searchset,
    "bundle_mixed": _mixed_searchset,
    "bundle_empty": lambda: mapping.searchset_bundle([], total=0, self_url=f"{BASE}/Observation?patient=x"),
}
