"""Writes of assessments: strength tests and questionnaires. Each is atomic and audited in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from apps.assessments import scoring, signals
from apps.assessments.models import Instrument, QuestionnaireResponse, StrengthTest, StrengthTestPoint, TorqueUnit
from apps.audit import events
from apps.clinics.access import access_clinic
from apps.clinics.models import Clinic, Machine, MachineKind
from apps.patients.chronology import clinical_time_problem
from apps.patients.models import Patient, Region
from apps.patients.selectors import access_patient, training_blocked

TWO_DECIMALS = Decimal("0.01")
REGION_OF_MACHINE = {
    MachineKind.LUMBAR_EXTENSION: Region.LUMBAR,
    MachineKind.CERVICAL_EXTENSION: Region.CERVICAL,
}
SECTION_SCORES = {scoring.ODI: scoring.odi_score, scoring.NDI: scoring.ndi_score}

Point = tuple[int, Decimal | int | str]


# Shared checks


def _check_may(actor: Any, perm: str, patient: Patient, refusal: str) -> None:
    """Deleted is a validation error; then 404 outside the actor's clinics (the gate); then 403 for the role."""
    if patient.is_deleted:
        raise ValidationError({"patient": "This patient has been deleted."})
    access_patient(user=actor, patient_id=patient.pk)
    if not actor.has_perm(perm, patient):
        raise PermissionDenied(refusal)


def _may_record(user: Any, perm: str, patient: Patient) -> bool:
    try:
        access_patient(user=user, patient_id=patient.pk)
    except Http404:
        return False
    return user.is_active and user.has_perm(perm, patient)


def clinician_of_record(*, actor: Any, clinician: Any, perm: str, patient: Patient, field: str) -> Any:
    """Who a record is attributed to: the staff actor, or the clinician a partner system records for.

    A partner token has no user, so it names the clinician who took the test or supervised the
    set; that clinician must hold the role to record it at the patient's clinic. Staff record as
    themselves. The audit trail still names the actor.
    """
    if clinician is None:
        if actor.pk is None:
            raise ValidationError({field: "Name the clinician who did this (their username)."})
        return actor
    if actor.pk is not None and clinician.pk != actor.pk:
        raise ValidationError({field: "Staff record as themselves; leave this out."})
    if not _may_record(clinician, perm, patient):
        raise ValidationError({field: f"{clinician.get_username()} cannot record this for this patient's clinic."})
    return clinician


def _moment_problem(moment: object, patient: Patient, tz: tzinfo) -> str | None:
    """A time given with its zone, after the patient's birth, not ahead of the clock (apps.patients.chronology)."""
    if not isinstance(moment, datetime) or timezone.is_naive(moment):
        return "Give a date and time with its time zone."
    return clinical_time_problem(moment, born=patient.birth_date, now=timezone.now(), tz=tz)


def _record_clinic(actor: Any, patient: Patient, clinic: Clinic | None) -> int:
    """Where it was done: the patient's home clinic unless the caller names one (which passes the gate)."""
    if clinic is None:
        return patient.clinic_id
    clinic = access_clinic(actor, clinic.pk)
    if clinic.organization_id != patient.organization_id:
        raise ValidationError({"clinic": "It must be done at a clinic of the patient's organization."})
    return clinic.pk


def _lock_patient(patient: Patient) -> None:
    # Serialises a patient's tests, so two saved at once cannot both be the familiarisation test.
    Patient.objects.select_for_update().only("pk").get(pk=patient.pk)


# Strength tests


def _testing_clinic(actor: Any, patient: Patient, machine: Machine, clinic: Clinic | None) -> Clinic:
    machine_clinic = access_clinic(actor, machine.clinic_id)
    if machine_clinic.organization_id != patient.organization_id:
        raise ValidationError({"machine": "The machine must be at a clinic of the patient's organization."})
    if not machine.is_active:
        raise ValidationError({"machine": "This machine is out of service."})
    if clinic is not None and access_clinic(actor, clinic.pk).pk != machine_clinic.pk:
        raise ValidationError({"clinic": "A test is recorded at the clinic where the machine is."})
    return machine_clinic


def _rom_errors(machine: Machine, rom_min_deg: int, rom_max_deg: int) -> dict[str, str]:
    given = {"rom_min_deg": rom_min_deg, "rom_max_deg": rom_max_deg}
    errors = {name: "Give whole degrees." for name, value in given.items() if type(value) is not int}
    if errors:
        return errors
    low, high = machine.rom_min_deg, machine.rom_max_deg
    for name, value in given.items():
        if not low <= value <= high:
            errors[name] = f"{value}° is outside the machine's range of motion ({low}-{high}°)."
    if rom_min_deg >= rom_max_deg and "rom_max_deg" not in errors:
        errors["rom_max_deg"] = f"The extension end ({rom_max_deg}°) must be above the flexion end ({rom_min_deg}°)."
    return errors


def _pain_errors(**ratings: int | None) -> dict[str, str]:
    errors = {}
    for name, value in ratings.items():
        if value is None:
            continue
        try:
            scoring.pain_rating(value, name.replace("_", " ").capitalize())
        except scoring.InvalidScore as error:
            errors[name] = str(error)
    return errors


def _point_errors(points: object, machine: Machine, rom_min_deg: int, rom_max_deg: int, unit: str) -> list[str]:
    if not isinstance(points, list | tuple) or not all(
        isinstance(point, list | tuple) and len(point) == 2 for point in points
    ):
        return ["Give the points as (angle in degrees, torque) pairs."]
    cap = scoring.plausible_torque_cap(machine.kind, unit)
    return scoring.test_point_problems(points, machine.test_angles, rom_min_deg, rom_max_deg, unit, cap)


def _test_errors(
    machine: Machine, rom: tuple[int, int], points: object, unit: str, **pain: int | None
) -> dict[str, Any]:
    errors: dict[str, Any] = {**_rom_errors(machine, *rom), **_pain_errors(**pain)}
    if unit not in TorqueUnit.values:
        errors["unit"] = f"Unknown torque unit {unit!r}: use {', '.join(TorqueUnit.values)}."
        return errors
    # Points are judged against the unit and the ROM reached, so only once both are sound.
    rom_sound = not errors.keys() & {"rom_min_deg", "rom_max_deg"}
    if rom_sound and (problems := _point_errors(points, machine, *rom, unit)):
        errors["points"] = problems
    return errors


def _stored_points(points: Sequence[Point], unit: str) -> list[StrengthTestPoint]:
    stored = []
    for angle, torque in points:
        captured = scoring.as_decimal(torque, "torque").quantize(TWO_DECIMALS, ROUND_HALF_UP)
        torque_nm = scoring.to_newton_metres(captured, unit).quantize(TWO_DECIMALS, ROUND_HALF_UP)
        angle_deg = int(scoring.as_decimal(angle, "angle"))  # a standard angle: whole degrees
        stored.append(StrengthTestPoint(angle_deg=angle_deg, torque=captured, unit=unit, torque_nm=torque_nm))
    return stored


def _is_first_test(patient: Patient, region: str) -> bool:
    return not StrengthTest.objects.of_patient(patient).filter(region=region).exists()


def _test_recorder(actor: Any, patient: Patient, recorded_by: Any) -> Any:
    """Who may record a test (`_check_may`), then who it is attributed to."""
    perm = "assessments.add_strengthtest"
    _check_may(actor, perm, patient, "Only a clinician of the patient's clinic can record a strength test.")
    return clinician_of_record(actor=actor, clinician=recorded_by, perm=perm, patient=patient, field="recorded_by")


def _check_testing_allowed(patient: Patient) -> None:
    if training_blocked(patient=patient):
        raise ValidationError({"patient": "Testing is blocked until a physician review clears the red-flag screen."})


def _validate_test(
    patient: Patient,
    clinic: Clinic,
    machine: Machine,
    performed_at: object,
    rom: tuple[int, int],
    points: object,
    unit: str,
    **pain: int | None,
) -> None:
    """Every problem of the test at once; its time is judged on the wall clock of the machine's `clinic`."""
    errors = _test_errors(machine, rom, points, unit, **pain)
    if problem := _moment_problem(performed_at, patient, clinic.tzinfo):
        errors["performed_at"] = problem
    if errors:
        raise ValidationError(errors)


def _store_test(
    patient: Patient, machine: Machine, rom: tuple[int, int], points: list[StrengthTestPoint], **fields: Any
) -> StrengthTest:
    """The test row; the caller holds the patient's lock, so only one test can be the region's first."""
    region = REGION_OF_MACHINE[machine.kind]
    curve = [(point.angle_deg, point.torque_nm) for point in points]
    rom_min_deg, rom_max_deg = rom
    return StrengthTest.objects.create(
        patient=patient,
        machine=machine,
        region=region,
        is_familiarization=_is_first_test(patient, region),
        rom_min_deg=rom_min_deg,
        rom_max_deg=rom_max_deg,
        # Every point is inside the ROM reached (validated), so the peak is never None.
        peak_torque_nm=scoring.peak_torque_in_rom(curve, rom_min_deg, rom_max_deg),
        strength_index_nm_deg=scoring.strength_index(curve).quantize(scoring.ONE_DECIMAL, ROUND_HALF_UP),
        **fields,
    )


def _store_points(test: StrengthTest, points: list[StrengthTestPoint]) -> None:
    for point in points:
        point.test = test
    StrengthTestPoint.objects.bulk_create(points)


@transaction.atomic
def strength_test_record(
    *,
    actor: Any,
    patient: Patient,
    machine: Machine,
    performed_at: datetime,
    rom_min_deg: int,
    rom_max_deg: int,
    points: Sequence[Point],
    unit: str | None = None,
    pain_before: int | None = None,
    pain_after: int | None = None,
    clinic: Clinic | None = None,
    recorded_by: Any = None,
) -> StrengthTest:
    """An isometric test: torque per angle, kept as captured and in N·m, with its peak and strength index."""
    recorded_by = _test_recorder(actor, patient, recorded_by)
    clinic = _testing_clinic(actor, patient, machine, clinic)
    _check_testing_allowed(patient)
    unit = machine.load_unit if unit is None else unit
    rom = (rom_min_deg, rom_max_deg)
    _validate_test(
        patient, clinic, machine, performed_at, rom, points, unit, pain_before=pain_before, pain_after=pain_after
    )
    stored = _stored_points(points, unit)
    _lock_patient(patient)  # before _store_test asks whether this is the region's first test
    test = _store_test(
        patient,
        machine,
        rom,
        stored,
        clinic=clinic,
        recorded_by=recorded_by,
        performed_at=performed_at,
        pain_before=pain_before,
        pain_after=pain_after,
    )
    _store_points(test, stored)
    # Announced before the audit event: the lock order of apps/assessments/signals.py.
    signals.strength_test_recorded.send(sender=StrengthTest, test=test, actor=actor)
    events.record(action=events.Action.CREATE, obj=test, actor=actor)
    return test


# Questionnaires


def _scored(instrument: str, answers: Any) -> tuple[list[int | None], scoring.Score]:
    """The answers as stored and their score; raises InvalidScore."""
    if instrument == scoring.PAIN_NRS:
        one_rating = isinstance(answers, list | tuple) and len(answers) == 1
        rating = answers[0] if one_rating else answers
        return [rating], scoring.nrs_score(rating)
    if not isinstance(answers, list | tuple):
        label = instrument.upper()
        raise scoring.InvalidQuestionnaire(f"Give the {label} answers as ten section scores (0-5, or null).")
    return list(answers), SECTION_SCORES[instrument](answers)


def _response_recorder(actor: Any, patient: Patient, recorded_by: Any) -> Any:
    """Who may record a questionnaire (`_check_may`), then who it is attributed to."""
    perm = "assessments.add_questionnaireresponse"
    _check_may(actor, perm, patient, "Only staff of the patient's clinic can record a questionnaire.")
    return clinician_of_record(actor=actor, clinician=recorded_by, perm=perm, patient=patient, field="recorded_by")


def _validated_response(
    patient: Patient, instrument: str, answers: Any, completed_at: object
) -> tuple[list[int | None], scoring.Score]:
    """The answers as stored and their score; an unknown instrument is refused first, then every other problem.

    The time is judged on the wall clock of the patient's home clinic, as the admin's form reads it.
    """
    if instrument not in Instrument.values:
        raise ValidationError({"instrument": f"Unknown instrument {instrument!r}: use odi, ndi or pain_nrs."})
    errors = {}
    if problem := _moment_problem(completed_at, patient, patient.clinic.tzinfo):
        errors["completed_at"] = problem
    try:
        stored, score = _scored(instrument, answers)
    except scoring.InvalidScore as error:
        errors["answers"] = str(error)
    if errors:
        raise ValidationError(errors)
    return stored, score


def _store_response(answers: list[int | None], score: scoring.Score, **fields: Any) -> QuestionnaireResponse:
    return QuestionnaireResponse.objects.create(
        answers=answers,
        score=score.value,
        percent=score.percent,
        band=score.band or "",
        answered=score.answered,
        **fields,
    )


@transaction.atomic
def questionnaire_record(
    *,
    actor: Any,
    patient: Patient,
    instrument: str,
    answers: Sequence[int | None] | int,
    completed_at: datetime,
    clinic: Clinic | None = None,
    recorded_by: Any = None,
) -> QuestionnaireResponse:
    """An ODI, NDI or pain NRS response; only a valid response is stored, with its score and band."""
    recorded_by = _response_recorder(actor, patient, recorded_by)
    clinic_id = _record_clinic(actor, patient, clinic)
    stored, score = _validated_response(patient, instrument, answers, completed_at)
    response = _store_response(
        stored,
        score,
        patient=patient,
        clinic_id=clinic_id,
        recorded_by=recorded_by,
        instrument=instrument,
        completed_at=completed_at,
    )
    # Announced before the audit event: the lock order of apps/assessments/signals.py.
    signals.questionnaire_recorded.send(sender=QuestionnaireResponse, response=response, actor=actor)
    events.record(action=events.Action.CREATE, obj=response, actor=actor)
    return response
