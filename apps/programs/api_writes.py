"""Programs written on the partner API: create a draft from a baseline test, then move its status.

Each operation is one call of the programs services (`program_create`, `program_start`,
`program_transition`), so the rules are the staff UI's and the admin's: the start load proposed
from the baseline test, an out-of-range one only with a reason, the allowed status moves, the
red-flag block, discharge as a physician's call. What a service refuses is a 400 on the field it
names; an illegal move is a 400 on `status`, as cancelling an appointment twice is on `state`.

A read-write partner token acts for a clinician it names (`prescribed_by`, `clinician`), who must
hold the role for the operation at the patient's clinic; the audit trail names the partner. Staff
signed in act as themselves and leave the field out. Every POST takes an `Idempotency-Key`.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import idempotency
from apps.api.bodies import StrictFields
from apps.api.permissions import ActionPermission
from apps.assessments.models import StrengthTest
from apps.assessments.services import clinician_of_record
from apps.clinics.access import clinics_for_user
from apps.clinics.api_base import ClinicianField, ScopedGenericAPIView
from apps.clinics.models import Clinic
from apps.patients.api import IDEMPOTENCY_HEADER
from apps.patients.models import Patient, Region
from apps.patients.selectors import access_patient, record_get
from apps.programs import api, services
from apps.programs.models import Program, ProgramStatus

PRESCRIPTION = sorted(services.PRESCRIPTION_FIELDS)
CLINICIAN_HELP = "Username of the clinician the partner acts for. Required from partner tokens; staff leave it out."


def acting_for(request: Request, clinician: Any, perm: str, patient: Patient, field: str) -> Any:
    """The clinician a partner token acts for (who must hold `perm` at the patient's clinic), or the staff actor."""
    return clinician_of_record(actor=request.user, clinician=clinician, perm=perm, patient=patient, field=field)


def _program_again(request: Request) -> Any:
    # An idempotent replay shows the program again: through the gate, audited as a read.
    return lambda object_id: record_get(Program, request.user, object_id)


# --- create ---------------------------------------------------------------------------------------


class ProgramInput(StrictFields, serializers.ModelSerializer):
    """A draft program: the patient, the region, its baseline test and the prescription (model defaults)."""

    patient = serializers.UUIDField(help_text="Patient id. A patient outside your clinics is 404.")
    region = serializers.ChoiceField(choices=Region.choices)
    baseline_test = serializers.PrimaryKeyRelatedField(
        queryset=StrengthTest.objects.none(),
        pk_field=serializers.UUIDField(),
        required=False,
        help_text="Strength test id (not the familiarisation test) of this patient and region. Default: the "
        "patient's latest such test of the last 28 days, if any.",
    )
    clinic = serializers.PrimaryKeyRelatedField(
        queryset=Clinic.objects.none(), required=False, help_text="Where the patient trains. Default: home clinic."
    )
    prescribed_by = ClinicianField(help_text=CLINICIAN_HELP)

    class Meta:
        model = Program
        fields = [
            "patient",
            "region",
            "baseline_test",
            "clinic",
            *PRESCRIPTION,
            "start_load",
            "start_load_override_reason",
            "prescribed_by",
        ]
        validators: list[Any] = []  # the one-open-program rule is the service's, with its message
        extra_kwargs = {
            "start_load": {
                "help_text": "In the machine's unit. Default: 50 % of the baseline peak torque, on the increment."
            },
            "start_load_override_reason": {"help_text": "Why, when the start load is outside 40-80 % of the peak."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Of another clinic reads as "does not exist", like a wrong id.
            self.fields["baseline_test"].queryset = StrengthTest.objects.for_user(request.user)
            self.fields["clinic"].queryset = clinics_for_user(request.user)


CREATE_EXAMPLE = OpenApiExample(
    "A lumbar program from the baseline test",
    value={
        "patient": "6f1c3a52-8d1e-4b0e-9a57-2f0f7c1d9e44",
        "region": "lumbar",
        "baseline_test": "0b9e2d7a-51c4-4f8e-8f3a-7d2b6e1c5a90",
        "sessions_per_week": 2,
        "planned_weeks": 10,
        "rep_min": 8,
        "rep_max": 12,
        "prescribed_by": "dr.lee",
    },
    request_only=True,
)
OVERRIDE_EXAMPLE = OpenApiExample(
    "A start load of the clinician's choosing",
    value={
        "patient": "6f1c3a52-8d1e-4b0e-9a57-2f0f7c1d9e44",
        "region": "cervical",
        "start_load": "30",
        "start_load_override_reason": "Post-surgical: start well below half the peak.",
        "prescribed_by": "dr.lee",
    },
    request_only=True,
)
# What program_create may refuse beyond the input's own checks (each "invalid").
CREATE_SERVICE_FIELDS = ("region", "baseline_test", "clinic", "start_load", "start_load_override_reason")
CREATE_SERVICE_FIELDS += ("rep_max", "tul_max_s", "prescribed_by", "non_field_errors")


def _documents(fields: tuple[str, ...]) -> Any:
    """The service's "invalid" errors on these fields, and the Idempotency-Key's, on the view's POST."""

    def decorate(view: type) -> type:
        for name in fields:
            view = extend_validation_errors(["invalid"], field_name=name, methods=["post"])(view)
        return idempotency.documents_key_errors(view)

    return decorate


@_documents(CREATE_SERVICE_FIELDS)
class ProgramListCreateView(api.ProgramListView):
    """The program list (apps.programs.api), and its POST: a new draft program."""

    required_perms = {**api.ProgramListView.required_perms, "POST": "programs.add_program"}

    @extend_schema(
        operation_id="programs_create",
        summary="Prescribe a program (draft)",
        description="Create a draft program for a patient of your clinics (read-write tokens, for a clinician "
        "named in `prescribed_by` who may prescribe at the patient's clinic). The start load is proposed "
        "from the baseline strength test: 50 % of its peak torque, on the machine's increment and within "
        "its range; give `start_load` to choose another, with `start_load_override_reason` when it is "
        "outside 40-80 % of the peak. The prescription fields default as for staff (2 sessions a week for "
        "10 weeks, 8-12 reps, 45-150 s under load). Refusals are a 400 on the field: an open program for "
        "the region already (`region`), a test of another patient, region or the familiarisation test "
        "(`baseline_test`), a load off the increment (`start_load`), a missing reason "
        "(`start_load_override_reason`). A patient outside your clinics is 404. Start it with "
        "`POST /api/v1/programs/{id}/start/`.",
        request=ProgramInput,
        responses={201: api.ProgramOutput, 404: ErrorResponse404Serializer, **idempotency.KEY_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[CREATE_EXAMPLE, OVERRIDE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        idempotency.request_key(request)  # a malformed key is refused before any work
        given = ProgramInput(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        patient = access_patient(user=request.user, patient_id=data.pop("patient"))
        named = data.pop("prescribed_by", None)

        def create() -> tuple[int, Any, str]:
            program = services.program_create(actor=request.user, patient=patient, prescribed_by=named, **data)
            return status.HTTP_201_CREATED, api.ProgramOutput(program).data, str(program.pk)

        return idempotency.create_response(request, create, _program_again(request))


# --- status moves ---------------------------------------------------------------------------------


class StartInput(StrictFields, serializers.Serializer):
    clinician = ClinicianField(help_text=CLINICIAN_HELP)


class MoveInput(StrictFields, serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="Why, for the program's record."
    )
    clinician = ClinicianField(help_text=CLINICIAN_HELP)


# What program_start and program_transition may refuse beyond the input's own checks (each "invalid").
MOVE_SERVICE_FIELDS = ("status", "start_load", "started_at", "program", "clinician", "non_field_errors")


@_documents(MOVE_SERVICE_FIELDS)
class _ProgramMoveView(ScopedGenericAPIView):
    """One status move of one program: gate, input, the clinician acted for, one service call.

    Idempotent like a create: a retry with the same key gets the first answer, not a second move
    (which would be refused as illegal, or hold a program resumed meanwhile).
    """

    permission_classes = [ActionPermission]
    required_perms = {"POST": "programs.change_program"}
    serializer_class = api.ProgramOutput
    input_class: type[serializers.Serializer] = MoveInput

    def move(self, actor: Any, program: Program, clinician: Any, **given: Any) -> Program:
        """The service call; `clinician` is the one a partner token names (None for staff)."""
        raise NotImplementedError

    def post(self, request: Request, program_id: uuid.UUID) -> Response:
        idempotency.request_key(request)  # a malformed key is refused before any work
        program = record_get(Program, request.user, program_id, audit=False)  # the service audits the move
        given = self.input_class(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        named = data.pop("clinician", None)

        def act() -> tuple[int, Any, str]:
            moved = self.move(request.user, program, named, **data)
            return status.HTTP_200_OK, api.ProgramOutput(moved).data, str(moved.pk)

        return idempotency.create_response(request, act, _program_again(request))


class _TransitionView(_ProgramMoveView):
    to_status: str

    def move(self, actor: Any, program: Program, clinician: Any, **given: Any) -> Program:
        # The service checks the named clinician against the move's permission (a discharge: a physician's).
        return services.program_transition(
            actor=actor, program=program, status=self.to_status, clinician=clinician, **given
        )


def _move_schema(
    operation_id: str, summary: str, description: str, example: dict[str, str], given: type = MoveInput
) -> Any:
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            description=f"{description} A program outside your clinics is 404; a move its status does not "
            "allow is a 400 on `status` and changes nothing. Read-write tokens name the clinician they act "
            "for in `clinician`. Answers the program as it now is.",
            request=given,
            responses={200: api.ProgramOutput, **idempotency.KEY_RESPONSES},
            parameters=[IDEMPOTENCY_HEADER],
            examples=[OpenApiExample(summary, value=example, request_only=True)],
        )
    )


@_move_schema(
    "programs_start",
    "Start a draft program",
    "Make a draft program active at its start load: the first session is due now, the recovery window, "
    "due times, retest and questionnaires are set from here. Needs a start load (a baseline test or one "
    "given, else 400 on `start_load`) and a patient clear to train (a red flag or a screen awaiting a "
    "physician's review is a 400 on `program`).",
    {"clinician": "pt.garcia"},
    StartInput,
)
class ProgramStartView(_ProgramMoveView):
    input_class = StartInput

    def move(self, actor: Any, program: Program, clinician: Any, **given: Any) -> Program:
        acting_for(self.request, clinician, "programs.change_program", program.patient, "clinician")
        return services.program_start(actor=actor, program=program)


@_move_schema(
    "programs_hold",
    "Put an active program on hold",
    "Pause an active program (illness, travel): no sessions and no lapse until it is resumed.",
    {"reason": "Flu: back in two weeks.", "clinician": "pt.garcia"},
)
class ProgramHoldView(_TransitionView):
    to_status = ProgramStatus.ON_HOLD


@_move_schema(
    "programs_resume",
    "Resume a program on hold (or lapsed)",
    "Make a program on hold, or one that lapsed, active again; a draft is started, not resumed.",
    {"reason": "Recovered.", "clinician": "pt.garcia"},
)
class ProgramResumeView(_TransitionView):
    to_status = ProgramStatus.ACTIVE


@_move_schema(
    "programs_complete",
    "Complete an active program",
    "End an active program as completed: questionnaires, retest and the physician's review fall due now.",
    {"reason": "Planned sessions done.", "clinician": "pt.garcia"},
)
class ProgramCompleteView(_TransitionView):
    to_status = ProgramStatus.COMPLETED


@_move_schema(
    "programs_discharge",
    "Discharge a program (physician)",
    "End an active, held or lapsed program as discharged: a physician's call, so staff need the "
    "physician role at the patient's clinic (else 403) and a token's `clinician` must be a physician "
    "there. Questionnaires, retest and the physician's review fall due now.",
    {"reason": "Goals met; home programme.", "clinician": "dr.lee"},
)
class ProgramDischargeView(_TransitionView):
    # Staff need the physician's permission (the service's gate, else 403); a token, a physician to name.
    to_status = ProgramStatus.DISCHARGED


@_move_schema(
    "programs_cancel",
    "Cancel a program",
    "End a draft, active, held or lapsed program as cancelled (never started, or stopped without "
    "completion): it no longer blocks a new program for the region.",
    {"reason": "Patient moved away.", "clinician": "pt.garcia"},
)
class ProgramCancelView(_TransitionView):
    to_status = ProgramStatus.CANCELLED
