"""Admin of the clinical engine: programs, sessions, flags, and the assessments that feed them.

StrengthTest and QuestionnaireResponse (apps.assessments) are registered here, not in
apps/assessments/admin.py: recording one must go through `strength_test_record_for_program` or
`questionnaire_record_for_program`, which recompute the patient's open program, and imports point
one way (assessments ← programs), so the assessments app cannot call them.

Every page is scoped by clinic like the foundation's (PatientDataAdmin: 404 outside the user's
clinics, every row shown recorded as a read, rows of deleted patients hidden). Rows are written by
the services only: add pages are ServiceForms, a recorded row is read-only, and nothing is deleted
here. A program's status moves by actions and buttons that call program_start / program_transition.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.assessments.scoring import NDI_SECTIONS, ODI_SECTIONS, fmt
from apps.clinics.access import machines_for_user
from apps.clinics.admin_base import PatientDataAdmin, ServiceAdmin, refusal_text
from apps.clinics.models import Machine
from apps.programs import flags, services
from apps.programs.admin_forms import (
    PRESCRIPTION,
    SECTIONS,
    ProgramAddForm,
    QuestionnaireAddForm,
    SessionAddForm,
    StrengthTestAddForm,
    local_time,
)
from apps.programs.models import MOVE_LABELS, START, Flag, Program, ProgramStatus, TrainingSession, moves_from


def who(user: Any) -> str:
    return f"{user.get_full_name() or user.username} ({user.username})"


def load_text(load: Any, unit_label: str) -> str:
    return "—" if load is None else f"{fmt(load)} {unit_label}"


class RecordAdmin(ServiceAdmin, PatientDataAdmin):
    """A row of a patient's record: added through its service, then read-only; never deleted here."""

    search_fields = ["patient__family_name", "=patient__mrn"]
    autocomplete_fields = ["patient"]
    list_per_page = 50

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Training sessions -----------------------------------------------------------------------------


# The columns of a session row, in the session list and in a program's session log.
SESSION_COLUMNS = [
    "performed_local",
    "load_display",
    "reps",
    "time_under_load_s",
    "reached_failure",
    "pain_before",
    "pain_after",
    "status",
    "proposal_action",
    "overridden",
]


class SessionColumns:
    performed_local = local_time("performed_at", "performed (clinic time)")

    @admin.display(description="load", ordering="load")
    def load_display(self, session: TrainingSession) -> str:
        return load_text(session.load, session.get_load_unit_display())

    @admin.display(description="overridden", boolean=True)
    def overridden(self, session: TrainingSession) -> bool:
        return session.overridden

    @admin.display(description="supervised by")
    def supervised_by(self, session: TrainingSession) -> str:
        return who(session.supervisor)


@admin.register(TrainingSession)
class TrainingSessionAdmin(SessionColumns, RecordAdmin):
    add_form = SessionAddForm
    add_fieldsets = [
        (None, {"fields": ["program", "machine", "performed_at", "status"]}),
        ("The set", {"fields": ["load", "override_reason", "reps", "time_under_load_s", "reached_failure"]}),
        ("Range of motion", {"fields": ["rom_min_deg", "rom_max_deg"]}),
        (
            "Pain and safety",
            {"fields": ["pain_before", "pain_after", "early_reason", "adverse_event", "adverse_event_note"]},
        ),
        ("Red flag", {"fields": ["red_flag_reported"]}),
    ]
    autocomplete_fields = []
    list_display = ["patient", *SESSION_COLUMNS]
    list_filter = ["status", "proposal_action", "reached_failure"]
    list_select_related = ["patient", "clinic"]
    fieldsets = [
        (None, {"fields": ["patient", "program", "performed_local", "status", "clinic", "machine"]}),
        ("The set", {"fields": ["load_display", "reps", "time_under_load_s", "reached_failure", "rom"]}),
        ("Supervision and proposal", {"fields": ["supervised_by", "proposal_in_force", "override", "early_reason"]}),
        (
            "Pain and safety",
            {"fields": ["pain_before", "pain_after", "adverse_event", "adverse_event_note", "red_flag_reported"]},
        ),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # Only `?program=<uuid>` preselects; a link cannot prefill a load or a reason.
        return {"program": request.GET["program"]} if "program" in request.GET else {}

    def choices_for(self, field_name: str, related: Any, request: HttpRequest) -> QuerySet:
        if related is Program:
            programs = Program.objects.for_user(request.user).open().filter(patient__deleted_at__isnull=True)
            return programs.select_related("patient", "clinic")
        if related is Machine:
            return machines_for_user(request.user).filter(is_active=True).select_related("clinic")
        return super().choices_for(field_name, related, request)

    @admin.display(description="range of motion")
    def rom(self, session: TrainingSession) -> str:
        return f"{session.rom_min_deg}-{session.rom_max_deg}°"

    @admin.display(description="proposal in force")
    def proposal_in_force(self, session: TrainingSession) -> str:
        if not session.proposal_action:
            return "—"
        load = load_text(session.proposed_load, session.get_load_unit_display())
        return f"{load} ({session.get_proposal_action_display()}): {session.proposal_reason}"

    @admin.display(description="override")
    def override(self, session: TrainingSession) -> str:
        if not session.overridden:
            return "None: the session was at the proposed load."
        unit = session.get_load_unit_display()
        return (
            f"{who(session.supervisor)} chose {load_text(session.load, unit)} instead of "
            f"{load_text(session.proposed_load, unit)}: {session.override_reason}"
        )


# --- Programs --------------------------------------------------------------------------------------


class StatusActionForm(helpers.ActionForm):
    status_reason = forms.CharField(required=False, max_length=300, label="Reason")


def status_action(move: str, description: str) -> Any:
    @admin.action(description=description, permissions=["change"])
    def act(modeladmin: ProgramAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        moved = sum(modeladmin.move(request, program, move) for program in queryset.select_related("patient"))
        if moved:
            modeladmin.message_user(request, f"{MOVE_LABELS[move]}: {moved} program(s).", messages.SUCCESS)

    act.__name__ = f"{move}_selected"  # the admin keys actions by name
    return act


class SessionLogInline(SessionColumns, admin.TabularInline):
    model = TrainingSession
    fk_name = "program"
    verbose_name_plural = "Session log"
    fields = [*SESSION_COLUMNS, "supervised_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("clinic", "supervisor").order_by("-performed_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Program)
class ProgramAdmin(ServiceAdmin, PatientDataAdmin):
    add_form = ProgramAddForm
    add_fieldsets = [
        (None, {"fields": ["patient", "region"]}),
        ("Prescription", {"fields": PRESCRIPTION}),
        (
            "Start load",
            {
                "fields": ["start_load", "start_load_override_reason"],
                "description": "Blank: 50 % of the peak torque of the patient's latest test (of the last 28 days). "
                "A start load outside 40-80 % of it needs a reason.",
            },
        ),
    ]
    autocomplete_fields = ["patient"]
    search_fields = ["patient__family_name", "=patient__mrn"]
    list_display = [
        "patient",
        "region",
        "status",
        "attendance",
        "next_due_local",
        "current_load_display",
        "proposed_load_display",
        "completed_sessions",
        "record_session",
    ]
    list_filter = ["status", "attendance", "region", "clinic"]
    list_select_related = ["patient", "clinic"]
    list_per_page = 50
    action_form = StatusActionForm
    actions = [
        status_action(START, "Start the selected draft programs"),
        status_action(ProgramStatus.ON_HOLD, "Put the selected programs on hold"),
        status_action(ProgramStatus.ACTIVE, "Resume the selected programs"),
        status_action(ProgramStatus.COMPLETED, "Complete the selected programs"),
        status_action(ProgramStatus.DISCHARGED, "Discharge the selected programs (physician)"),
        status_action(ProgramStatus.CANCELLED, "Cancel the selected programs"),
    ]
    inlines = [SessionLogInline]
    fieldsets = [
        (None, {"fields": ["patient", "clinic", "region", "status", "status_reason", "status_buttons"]}),
        ("Load", {"fields": ["current_load_display", "proposed_load_display", "start_load_display", "record_session"]}),
        (
            "Attendance and schedule (clinic time)",
            {
                "fields": [
                    "attendance",
                    "completed_sessions",
                    "started_local",
                    "last_completed_local",
                    "earliest_next_local",
                    "next_due_local",
                    "overdue_local",
                    "lapse_local",
                    "detrained_local",
                    "questionnaire_due_local",
                    "retest_due_local",
                    "physician_review_due_local",
                    "ended_local",
                ]
            },
        ),
        ("Prescription", {"fields": ["prescribed_by", "baseline_test", "machine_kind", *PRESCRIPTION]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)

    started_local = local_time("started_at", "started")
    last_completed_local = local_time("last_completed_at", "last completed session")
    earliest_next_local = local_time("earliest_next_at", "earliest next session")
    next_due_local = local_time("next_due_at", "next session due")
    overdue_local = local_time("overdue_at", "overdue from")
    lapse_local = local_time("lapse_at", "lapses at")
    detrained_local = local_time("detrained_at", "retest required from")
    questionnaire_due_local = local_time("questionnaire_due_at", "questionnaire due")
    retest_due_local = local_time("retest_due_at", "strength retest due")
    physician_review_due_local = local_time("physician_review_due_at", "physician review due")
    ended_local = local_time("ended_at", "ended")

    def has_change_permission(self, request: HttpRequest, obj: Program | None = None) -> bool:
        # Nothing on a program is edited in a form: the services compute it, and its status moves by
        # the actions (which need this permission without an object) and the buttons on its page.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Program | None = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        status = path(
            "<path:object_id>/status/",
            self.admin_site.admin_view(self.status_view),
            name="programs_program_status",
        )
        return [status, *super().get_urls()]

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        program = self.get_object(request, unquote(object_id))
        if self.move(request, program, request.POST.get("status", "")):
            self.message_user(request, f"The program is now {program.get_status_display().lower()}.", messages.SUCCESS)
        return redirect("admin:programs_program_change", program.pk)

    def move(self, request: HttpRequest, program: Program, move: str) -> bool:
        """Start or transition one program; a refusal is a message naming the patient."""
        reason = request.POST.get("status_reason", "")
        try:
            if move == START:
                services.program_start(actor=request.user, program=program)
            else:
                services.program_transition(actor=request.user, program=program, status=move, reason=reason)
        except (ValidationError, PermissionDenied) as error:
            self.message_user(request, f"{program.patient}: {refusal_text(error)}", messages.ERROR)
            return False
        return True

    @admin.display(description="change status")
    def status_buttons(self, program: Program) -> str:
        moves = moves_from(program)
        if not moves:
            return "—"
        url = reverse("admin:programs_program_status", args=[program.pk])
        buttons = format_html_join(
            " ",
            '<button type="submit" class="button" formaction="{}" name="status" value="{}">{}</button>',
            ((url, move, MOVE_LABELS[move]) for move in moves),
        )
        # The disabled first button is the form's default: Enter in the reason box moves nothing.
        return format_html(
            '<button type="submit" disabled hidden></button>'
            '<input type="text" name="status_reason" maxlength="300" placeholder="Reason (optional)" '
            'aria-label="Reason"> {}',
            buttons,
        )

    @admin.display(description="")
    def record_session(self, program: Program) -> str:
        if program.status not in (ProgramStatus.ACTIVE, ProgramStatus.LAPSED):
            return ""
        url = reverse("admin:programs_trainingsession_add")
        return format_html('<a href="{}?program={}">Record a session</a>', url, program.pk)

    @admin.display(description="current load", ordering="current_load")
    def current_load_display(self, program: Program) -> str:
        return load_text(program.current_load, program.get_load_unit_display())

    @admin.display(description="proposed next load")
    def proposed_load_display(self, program: Program) -> str:
        if not program.proposal_action:
            return "—"
        load = load_text(program.proposed_load, program.get_load_unit_display())
        return f"{load} ({program.get_proposal_action_display().lower()}): {program.proposal_reason}"

    @admin.display(description="start load")
    def start_load_display(self, program: Program) -> str:
        load = load_text(program.start_load, program.get_load_unit_display())
        reason = program.start_load_override_reason
        return f"{load}, set by the clinician: {reason}" if reason else load


# --- Strength tests and questionnaires ---------------------------------------------------------------


@admin.register(StrengthTest)
class StrengthTestAdmin(RecordAdmin):
    add_form = StrengthTestAddForm
    add_fieldsets = [
        (None, {"fields": ["patient", "machine", "performed_at"]}),
        ("Range of motion reached and pain", {"fields": ["rom_min_deg", "rom_max_deg", "pain_before", "pain_after"]}),
        ("Torque per angle", {"fields": ["points"]}),
    ]
    list_display = [
        "patient",
        "region",
        "performed_local",
        "is_familiarization",
        "machine",
        "peak_torque_nm",
        "strength_index_nm_deg",
    ]
    list_filter = ["region", "is_familiarization"]
    list_select_related = ["patient", "clinic", "machine__clinic"]
    fieldsets = [
        (None, {"fields": ["patient", "region", "performed_local", "is_familiarization", "machine", "recorded_by"]}),
        ("Result", {"fields": ["rom", "pain_before", "pain_after", "peak_torque_nm", "strength_index_nm_deg"]}),
        ("Torque per angle", {"fields": ["points_table"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)
    performed_local = local_time("performed_at", "performed (clinic time)")

    def choices_for(self, field_name: str, related: Any, request: HttpRequest) -> QuerySet:
        if related is Machine:
            return machines_for_user(request.user).filter(is_active=True).select_related("clinic")
        return super().choices_for(field_name, related, request)

    @admin.display(description="range of motion reached")
    def rom(self, test: StrengthTest) -> str:
        return f"{test.rom_min_deg}-{test.rom_max_deg}°"

    @admin.display(description="points")
    def points_table(self, test: StrengthTest) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}°</td><td>{} {}</td><td>{} N·m</td></tr>",
            ((p.angle_deg, fmt(p.torque), p.get_unit_display(), fmt(p.torque_nm)) for p in test.points.all()),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            "Angle",
            "Torque as captured",
            "Torque (N·m)",
            rows,
        )


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(RecordAdmin):
    add_form = QuestionnaireAddForm
    add_fieldsets = [
        (None, {"fields": ["patient", "instrument", "completed_at"]}),
        ("ODI or NDI: section scores 0-5, blank when not answered", {"fields": SECTIONS}),
        ("Pain NRS", {"fields": ["rating"]}),
    ]
    list_display = ["patient", "instrument", "completed_local", "score", "percent", "band", "answered"]
    list_filter = ["instrument", "band"]
    list_select_related = ["patient", "clinic"]
    fieldsets = [
        (None, {"fields": ["patient", "instrument", "completed_local", "clinic", "recorded_by"]}),
        ("Score", {"fields": ["score", "percent", "band", "answered", "answers_table"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)
    completed_local = local_time("completed_at", "completed (clinic time)")

    @admin.display(description="answers")
    def answers_table(self, response: QuestionnaireResponse) -> str:
        titles = {"odi": ODI_SECTIONS, "ndi": NDI_SECTIONS}.get(response.instrument, ("rating",))
        rows = (
            (title, "—" if answer is None else answer) for title, answer in zip(titles, response.answers, strict=True)
        )
        return format_html("<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows))


# --- Flags -----------------------------------------------------------------------------------------


class FlagStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("open", "resolved"):
            return queryset.filter(resolved_at__isnull=self.value() == "open")
        return queryset


class ResolveActionForm(helpers.ActionForm):
    resolution = forms.CharField(required=False, max_length=300, label="Resolution")


@admin.register(Flag)
class FlagAdmin(PatientDataAdmin):
    """Flags open and close by the rules; a clinical review closes a pain or load flag, a physician a red flag."""

    list_display = ["kind", "patient", "opened_local", "reason", "is_open", "resolved_local", "resolution"]
    list_filter = [FlagStateFilter, "kind"]
    list_select_related = ["patient__clinic"]
    search_fields = ["patient__family_name", "=patient__mrn"]
    list_per_page = 50
    action_form = ResolveActionForm
    actions = ["resolve"]
    fields = ["kind", "patient", "program", "opened_local", "reason", "resolved_local", "resolution"]
    readonly_fields = fields
    opened_local = local_time("opened_at", "opened", clinic_of=lambda flag: flag.patient.clinic)
    resolved_local = local_time("resolved_at", "resolved", clinic_of=lambda flag: flag.patient.clinic)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Flag | None = None) -> bool:
        return False

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(flags.REVIEW_PERM)

    @admin.display(description="open", boolean=True)
    def is_open(self, flag: Flag) -> bool:
        return flag.resolved_at is None

    @admin.action(description="Resolve the selected flags (say what was decided)", permissions=["resolve"])
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        resolution, resolved = request.POST.get("resolution", ""), 0
        for flag in queryset.select_related("patient"):
            try:
                flags.flag_resolve(actor=request.user, flag=flag, resolution=resolution)
            except (ValidationError, PermissionDenied) as error:
                label = f"{flag.get_kind_display()}, {flag.patient}"
                self.message_user(request, f"{label}: {refusal_text(error)}", messages.ERROR)
            else:
                resolved += 1
        if resolved:
            self.message_user(request, f"Resolved {resolved} flag(s).", messages.SUCCESS)
