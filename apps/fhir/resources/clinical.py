"""Strength test and score Observations, QuestionnaireResponse, CarePlan (program), Encounter (session)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apps.assessments import scoring
from apps.assessments.bands import band_label
from apps.fhir import codes
from apps.fhir.resources.base import Json, category, checked, compact, concept, iso, meta, quantity, reference

if TYPE_CHECKING:
    from apps.assessments import models as assessment_models
    from apps.programs import models as program_models

REGION_LABELS = {"lumbar": "lumbar", "cervical": "cervical"}
Curve = Sequence[tuple[int, Decimal]]  # a strength test's [(angle, N·m)], highest angle first


# --- Isometric strength test ---------------------------------------------------------------------


def _torque_concept(code: str, display: str) -> Json:
    return concept(codes.ISOMETRIC_TORQUE_SYSTEM, code, display, text=display)


# The columns each builder reads, for searches that load only those (`QuerySet.only`).
STRENGTH_OBSERVATION_FIELDS = (
    "patient",
    "region",
    "performed_at",
    "is_familiarization",
    "rom_min_deg",
    "rom_max_deg",
    "peak_torque_nm",
    "strength_index_nm_deg",
    "created_at",
    "updated_at",
)
SCORE_OBSERVATION_FIELDS = ("patient", "instrument", "score", "band", "completed_at", "created_at", "updated_at")
QUESTIONNAIRE_RESPONSE_FIELDS = ("patient", "instrument", "answers", "completed_at", "updated_at")


def strength_observation(test: assessment_models.StrengthTest, curve: Curve | None = None) -> Json:
    """One Observation per test: a component per angle (N·m), then peak, strength index, ROM, familiarisation.

    `curve` is the test's [(angle, N·m)], highest angle first; by default `test.curve()`, which needs
    `points` (prefetch_related("points") in lists). The torque values are the normalised N·m.
    """
    region = test.region
    label = REGION_LABELS.get(region, region)
    title = f"Isometric {label} extension strength test"
    return compact(
        {
            "resourceType": "Observation",
            "id": str(test.pk),
            "meta": meta(test.updated_at),
            "status": checked("final", codes.OBSERVATION_STATUS, "Observation.status"),
            "category": category(codes.CATEGORY_EXAM),
            "code": _torque_concept(codes.isometric_test_code(region), title),
            "subject": reference("Patient", test.patient_id),
            "effectiveDateTime": iso(test.performed_at),
            "issued": iso(test.created_at),
            "component": _torque_components(region, label, test.curve() if curve is None else curve)
            + _summary_components(test, region, label),
        }
    )


def _torque_components(region: str, label: str, curve: Curve) -> list[Json]:
    return [
        {
            "code": _torque_concept(
                codes.torque_at_angle_code(region, angle), f"Isometric {label} extension torque at {angle} degrees"
            ),
            "valueQuantity": quantity(torque_nm, codes.UCUM_TORQUE),
        }
        for angle, torque_nm in curve
    ]


def _summary_components(test: assessment_models.StrengthTest, region: str, label: str) -> list[Json]:
    return [
        {
            "code": _torque_concept(codes.peak_torque_code(region), f"Peak isometric {label} extension torque"),
            "valueQuantity": quantity(test.peak_torque_nm, codes.UCUM_TORQUE),
        },
        {
            "code": _torque_concept(
                codes.strength_index_code(region), f"Isometric {label} extension strength index (area under curve)"
            ),
            "valueQuantity": quantity(test.strength_index_nm_deg, codes.UCUM_STRENGTH_INDEX),
        },
        {
            "code": _torque_concept(
                codes.range_of_motion_code(region), f"{label.capitalize()} range of motion reached"
            ),
            "valueRange": {
                "low": quantity(test.rom_min_deg, codes.UCUM_DEGREE),
                "high": quantity(test.rom_max_deg, codes.UCUM_DEGREE),
            },
        },
        {
            "code": _torque_concept(codes.FAMILIARIZATION_CODE, "Familiarisation test (not a baseline)"),
            "valueBoolean": test.is_familiarization,
        },
    ]


# --- Questionnaires ------------------------------------------------------------------------------

SECTIONS = {scoring.ODI: scoring.ODI_SECTIONS, scoring.NDI: scoring.NDI_SECTIONS}
NRS_ITEM_TEXT = "Pain intensity (0-10)"


def score_observation(response: assessment_models.QuestionnaireResponse) -> Json:
    """The score of a response (category survey), derived from the QuestionnaireResponse of the same id.

    ODI: LOINC 97909-6, percent (`%`). NDI: LOINC 82237-9, raw 0-50 (`{score}`). Pain NRS: LOINC
    72514-3, valueInteger. The band (ODI/NDI) is the interpretation text, as a person reads it
    (bed-bound, never the stored code bed_bound).
    """
    instrument = response.instrument
    value: Json
    if instrument == scoring.ODI:
        code = concept(codes.LOINC, codes.ODI_SCORE, codes.ODI_SCORE_DISPLAY, text="Oswestry Disability Index (%)")
        value = {"valueQuantity": quantity(response.score, codes.UCUM_PERCENT)}
    elif instrument == scoring.NDI:
        code = concept(codes.LOINC, codes.NDI_TOTAL, codes.NDI_TOTAL_DISPLAY, text="Neck Disability Index (0-50)")
        value = {"valueQuantity": quantity(response.score, codes.UCUM_SCORE)}
    elif instrument == scoring.PAIN_NRS:
        code = concept(codes.LOINC, codes.PAIN_NRS, codes.PAIN_NRS_DISPLAY, text="Pain NRS (0-10)")
        value = {"valueInteger": int(response.score)}
    else:
        raise ValueError(f"Unknown instrument {instrument!r}")
    return compact(
        {
            "resourceType": "Observation",
            "id": str(response.pk),
            "meta": meta(response.updated_at),
            "status": checked("final", codes.OBSERVATION_STATUS, "Observation.status"),
            "category": category(codes.CATEGORY_SURVEY),
            "code": code,
            "subject": reference("Patient", response.patient_id),
            "effectiveDateTime": iso(response.completed_at),
            "issued": iso(response.created_at),
            **value,
            "interpretation": [{"text": band_label(response.band)}] if response.band else None,
            "derivedFrom": [reference("QuestionnaireResponse", response.pk)],
        }
    )


def _item(link_id: str, text: str, answer: Any) -> Json:
    item: Json = {"linkId": link_id, "text": text}
    if answer is not None:
        item["answer"] = [{"valueInteger": int(answer)}]
    return item


def questionnaire_response_resource(response: assessment_models.QuestionnaireResponse) -> Json:
    """Section scores only (0-5; titles, never the licensed wording). Unanswered sections have no answer."""
    instrument = response.instrument
    answers = list(response.answers or [])
    if instrument == scoring.PAIN_NRS:
        items = [_item("1", NRS_ITEM_TEXT, answers[0] if answers else None)]
    elif instrument in SECTIONS:
        sections = SECTIONS[instrument]
        answers += [None] * (len(sections) - len(answers))
        items = [
            _item(str(number), title.capitalize(), answer)
            for number, (title, answer) in enumerate(zip(sections, answers, strict=False), start=1)
        ]
    else:
        raise ValueError(f"Unknown instrument {instrument!r}")
    return compact(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(response.pk),
            "meta": meta(response.updated_at),
            "questionnaire": codes.questionnaire_url(instrument),
            "status": checked("completed", codes.QUESTIONNAIRE_RESPONSE_STATUS, "QuestionnaireResponse.status"),
            "subject": reference("Patient", response.patient_id),
            "authored": iso(response.completed_at),
            "item": items,
        }
    )


# --- Program (CarePlan) --------------------------------------------------------------------------

# CarePlan.status: lapsed → on-hold (a lapsed patient may resume the same program; revoked is final);
# discharged → completed. Our own status rides along in the program-status extension.
CARE_PLAN_STATUS = {
    "draft": "draft",
    "active": "active",
    "on_hold": "on-hold",
    "lapsed": "on-hold",
    "completed": "completed",
    "discharged": "completed",
    "cancelled": "revoked",
}
ACTIVITY_STATUS = {
    "draft": "not-started",
    "active": "in-progress",
    "on_hold": "on-hold",
    "lapsed": "on-hold",
    "completed": "completed",
    "discharged": "completed",
    "cancelled": "cancelled",
}
LOAD_LABELS = {"ft_lbf": "ft·lbf", "in_lbf": "in·lbf"}


def _prescription_text(program: program_models.Program, load: Decimal | None) -> str:
    unit = LOAD_LABELS.get(program.load_unit, program.load_unit)
    cadence = f"{program.sessions_per_week} session(s) per week for {program.planned_weeks} weeks"
    if program.phase == MAINTENANCE:
        cadence = f"maintenance: one session every {program.maintenance_interval_weeks} week(s)"
    parts = [
        cadence,
        f"one set to momentary failure, {program.rep_min}-{program.rep_max} repetitions",
        f"time under load {program.tul_min_s}-{program.tul_max_s} s",
        f"progression +{program.progression_step_pct} %",
        f"at least {program.min_rest_hours} h between sessions",
    ]
    if load is not None:
        parts.append(f"load {scoring.fmt(load)} {unit}")
    return "; ".join(parts) + "."


MAINTENANCE = "maintenance"
PHASE_DISPLAY = {"training": "Training", MAINTENANCE: "Maintenance"}


def phase_extension(phase: str) -> Json:
    display = PHASE_DISPLAY.get(phase, phase)
    coding = {"system": codes.PROGRAM_PHASE_SYSTEM, "code": phase, "display": display}
    return {"url": codes.PROGRAM_PHASE_EXTENSION, "valueCoding": coding}


def _timing(program: program_models.Program) -> Json:
    """Training: f sessions a week for the planned weeks; maintenance: one every N weeks, open-ended."""
    if program.phase == MAINTENANCE:
        return {"repeat": {"frequency": 1, "period": program.maintenance_interval_weeks, "periodUnit": "wk"}}
    return {
        "repeat": {
            "boundsDuration": quantity(program.planned_weeks, codes.UCUM_WEEK),
            "frequency": program.sessions_per_week,
            "period": 1,
            "periodUnit": "wk",
        }
    }


def care_plan_resource(program: program_models.Program) -> Json:
    """The prescription: weekly frequency and length as a Timing, the load as the activity quantity."""
    region = REGION_LABELS.get(program.region, program.region)
    title = f"{region.capitalize()} extension strengthening program"
    load = program.current_load if program.current_load is not None else program.start_load
    load_unit = codes.UCUM_LOAD.get(program.load_unit)
    # CarePlan.activity.detail elements in R4 order: `code` before `status`.
    detail = compact(
        {
            "code": {"text": f"{region.capitalize()} extension strength training on a MedX-type machine"},
            "status": checked(ACTIVITY_STATUS[program.status], codes.CARE_PLAN_ACTIVITY_STATUS, "activity.status"),
            "scheduledTiming": _timing(program),
            "location": reference("Location", program.clinic_id),
            "quantity": quantity(load, load_unit) if load is not None and load_unit else None,
            "description": _prescription_text(program, load),
        }
    )
    period = compact({"start": iso(program.started_at), "end": iso(program.ended_at)})
    return compact(
        {
            "resourceType": "CarePlan",
            "id": str(program.pk),
            "meta": meta(program.updated_at),
            "extension": [
                {
                    "url": codes.PROGRAM_STATUS_EXTENSION,
                    "valueCoding": {
                        "system": codes.PROGRAM_STATUS_SYSTEM,
                        "code": program.status,
                        "display": program.get_status_display(),
                    },
                },
                phase_extension(program.phase),
            ],
            "status": checked(CARE_PLAN_STATUS[program.status], codes.CARE_PLAN_STATUS, "CarePlan.status"),
            "intent": "plan",
            "title": title,
            "description": _prescription_text(program, load),
            "subject": reference("Patient", program.patient_id),
            "period": period or None,
            "created": iso(program.created_at),
            "activity": [{"detail": detail}],
        }
    )


# --- Training session (Encounter) ----------------------------------------------------------------

SESSION_STATUS_DISPLAY = {"completed": "Completed", "stopped_early": "Stopped early"}


def encounter_resource(session: program_models.TrainingSession) -> Json:
    """A session that took place: always `finished`; a stopped-early set is told by the session-status
    extension (R4 Encounter has no statusReason). The program is linked by the local care-plan
    extension: R4 `Encounter.basedOn` allows ServiceRequest only. Needs `clinic` (its organization).
    """
    status_code = session.status.replace("_", "-")
    region = REGION_LABELS.get(session.program.region, session.program.region) if session.program_id else ""
    return compact(
        {
            "resourceType": "Encounter",
            "id": str(session.pk),
            "meta": meta(session.updated_at),
            "extension": [
                {
                    "url": codes.SESSION_STATUS_EXTENSION,
                    "valueCoding": {
                        "system": codes.SESSION_STATUS_SYSTEM,
                        "code": status_code,
                        "display": SESSION_STATUS_DISPLAY.get(session.status, session.status),
                    },
                },
                {"url": codes.CARE_PLAN_EXTENSION, "valueReference": reference("CarePlan", session.program_id)},
                phase_extension(session.phase),
            ],
            "status": checked("finished", codes.ENCOUNTER_STATUS, "Encounter.status"),
            "class": {
                "system": codes.V3_ACT_CODE,
                "code": codes.ENCOUNTER_CLASS_AMB[0],
                "display": codes.ENCOUNTER_CLASS_AMB[1],
            },
            "type": [{"text": f"{region.capitalize()} extension strength training session".strip()}],
            "subject": reference("Patient", session.patient_id),
            "period": {"start": iso(session.performed_at)},
            "location": [{"location": reference("Location", session.clinic_id)}],
            "serviceProvider": reference("Organization", session.clinic.organization_id),
        }
    )
