"""Admin of the clinical engine: programs, training sessions and flags.

Every page is scoped by clinic like the foundation's (PatientDataAdmin: 404 outside the user's
clinics, every row shown recorded as a read, rows of deleted patients hidden). Rows are written by
the services only: add pages are ServiceForms, a recorded row is read-only, and nothing is deleted
here. A program's status moves by actions and buttons that call program_start / program_transition.
Flags are in admin_flags; strength tests and questionnaires have their own admin (apps/assessments/admin.py).
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

from apps.assessments.scoring import fmt
from apps.clinics.access import machines_for_user
from apps.clinics.admin_base import PatientDataAdmin, RecordAdmin, ServiceAdmin, refusal_text
from apps.clinics.admin_time import local_time
from apps.clinics.models import Machine
from apps.programs import (
    admin_flags,  # noqa: F401  (registers the flags)
    maintenance,
    schedule,
    services,
)
from apps.programs.admin_forms import PRESCRIPTION, ProgramAddForm, SessionAddForm
from apps.programs.models import (
    MAINTAIN,
    MOVE_LABELS,
    START,
    Phase,
    Program,
    ProgramStatus,
    TrainingSession,
    moves_from,
)


def who(user: Any) -> str:
    return f"{user.get_full_name() or user.username} ({user.username})"


def load_text(load: Any, unit_label: str) -> str:
    return "—" if load is None else f"{fmt(load)} {unit_label}"


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
    maintenance_interval_weeks = forms.TypedChoiceField(
        choices=maintenance.INTERVAL_CHOICES,
        coerce=int,
        initial=schedule.MAINTENANCE_DEFAULT_WEEKS,
        required=False,
        label="Maintenance",
    )


def interval_weeks(request: HttpRequest) -> object:
    """The maintenance interval as posted: a whole number, or the text itself for the service to refuse."""
    given = request.POST.get("maintenance_interval_weeks") or "2"
    return int(given) if given.isdigit() else given


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
        "phase",
        "attendance",
        "next_due_local",
        "current_load_display",
        "proposed_load_display",
        "completed_sessions",
        "record_session",
    ]
    list_filter = ["status", "phase", "attendance", "region", "clinic"]
    list_select_related = ["patient", "clinic"]
    list_per_page = 50
    action_form = StatusActionForm
    actions = [
        status_action(START, "Start the selected draft programs"),
        status_action(ProgramStatus.ON_HOLD, "Put the selected programs on hold"),
        status_action(ProgramStatus.ACTIVE, "Resume the selected programs"),
        status_action(ProgramStatus.COMPLETED, "Complete the selected programs"),
        status_action(MAINTAIN, "Complete the selected programs into maintenance"),
        status_action(ProgramStatus.DISCHARGED, "Discharge the selected programs (physician)"),
        status_action(ProgramStatus.CANCELLED, "Cancel the selected programs"),
    ]
    inlines = [SessionLogInline]
    fieldsets = [
        (None, {"fields": ["patient", "clinic", "region", "status", "phase", "status_reason", "status_buttons"]}),
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
        ("Maintenance", {"fields": ["maintenance_interval_weeks", "maintenance_started_local"]}),
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
    maintenance_started_local = local_time("maintenance_started_at", "maintenance since")

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
            now = program.get_status_display().lower()
            if program.phase == Phase.MAINTENANCE and program.status == ProgramStatus.ACTIVE:
                now = f"in maintenance, one session {maintenance.every_weeks(program.maintenance_interval_weeks)}"
            self.message_user(request, f"The program is now {now}.", messages.SUCCESS)
        return redirect("admin:programs_program_change", program.pk)

    def move(self, request: HttpRequest, program: Program, move: str) -> bool:
        """Start or transition one program; a refusal is a message naming the patient."""
        reason = request.POST.get("status_reason", "")
        try:
            if move == START:
                services.program_start(actor=request.user, program=program)
            elif move == MAINTAIN:
                maintenance.program_maintain(
                    actor=request.user, program=program, interval_weeks=interval_weeks(request), reason=reason
                )
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
        interval = ""
        if MAINTAIN in moves:
            options = format_html_join("", '<option value="{}"{}>{}</option>', (
                (weeks, " selected" if weeks == schedule.MAINTENANCE_DEFAULT_WEEKS else "", label)
                for weeks, label in maintenance.INTERVAL_CHOICES
            ))  # fmt: skip
            interval = format_html(
                '<select name="maintenance_interval_weeks" aria-label="Maintenance interval">{}</select> ', options
            )
        # The disabled first button is the form's default: Enter in the reason box moves nothing.
        return format_html(
            '<button type="submit" disabled hidden></button>'
            '<input type="text" name="status_reason" maxlength="300" placeholder="Reason (optional)" '
            'aria-label="Reason"> {}{}',
            interval,
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
