"""What the partner schema says of the program, session and flag reads and of recording a session:
summaries, descriptions, examples. The views (apps.programs.api) spread them into `extend_schema`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

SYNC = (
    "oldest change first (`updated_at`, then `id`), cursor-paginated: follow `next` until it is null; sync "
    "incrementally with `updated_since`"
)

PROGRAMS_LIST = {
    "summary": "List the programs of your clinics",
    "description": (
        "Training programs of your clinics' patients, with their prescription (sessions a week, planned weeks, "
        "rep range, time under load, progression step, minimum rest), status, phase, current and proposed load "
        f"and the proposal's reason, and when the next session falls due; {SYNC}. Filter by `patient`, "
        "`status` and `phase`. Each program listed is an audited read. Errors: 400 on a filter that is not "
        "valid, named in `attr`."
    ),
}
PROGRAM_READ = {
    "summary": "Read a program",
    "description": (
        "One program of your clinics with its prescription, status, loads and due times, and an `ETag` for "
        "`If-None-Match` (304 while unchanged). `proposed_load` is the load the next session should use "
        "(`proposal_action` and `proposal_reason` say why: increase after the top of the rep range at "
        "failure, hold, decrease, or a start or reduced load after a gap); `earliest_next_at` ends the minimum "
        "rest, `next_due_at` is when it falls due. Another clinic's, or none, is 404. Audited."
    ),
}
SESSIONS_OF_PROGRAM = {
    "summary": "List a program's sessions",
    "description": (
        "The sessions recorded for one program of your clinics, with the load, reps, time under load, failure, "
        f"pain before and after and the proposal each was recorded against; {SYNC}. Filter by `status`, "
        "`phase` and `performed_after`/`performed_before`. A program of another clinic, or none, is 404. Each "
        "session listed is an audited read."
    ),
}
SESSION_CREATE = {
    "summary": "Record a session",
    "description": (
        "Records one set to failure on one of your clinics' machines for an active (or lapsed, returning) "
        "program, supervised by the clinician named in `supervisor` (read-write token). The load must be a "
        "multiple of the machine's increment within its range; a load other than the program's "
        "`proposed_load` needs `override_reason`, and a set before `earliest_next_at` (the minimum rest, 48 h "
        "by default) needs `early_reason`. `performed_at` must follow the program's start and its last "
        "completed session, and may not be more than 5 minutes ahead. After a gap the rules apply as the "
        "clinic's staff see them: back within 14 days at the same load, up to 28 at a reduced one, up to 84 "
        "only after a retest, beyond that a new program. The answer carries the next proposal. Idempotent with "
        "`Idempotency-Key`. Errors: 400 with the field in `attr` and nothing written; 404 for a program or "
        "machine that is not yours; 403 for a read token."
    ),
    "examples": [
        OpenApiExample(
            "A completed set at the proposed load",
            request_only=True,
            value={
                "machine": 3,
                "performed_at": "2026-03-04T10:05:00Z",
                "load": "105",
                "reps": 12,
                "time_under_load_s": 96,
                "reached_failure": True,
                "pain_before": 3,
                "pain_after": 2,
                "supervisor": "pt.meyer",
            },
        ),
        OpenApiExample(
            "Two days early, above the proposal",
            request_only=True,
            value={
                "machine": 3,
                "performed_at": "2026-03-05T10:05:00Z",
                "load": "110",
                "reps": 9,
                "time_under_load_s": 80,
                "reached_failure": True,
                "pain_before": 2,
                "pain_after": 2,
                "override_reason": "Patient asked to try the next step; tolerated well last week.",
                "early_reason": "Travelling from Friday; agreed with the physician.",
                "supervisor": "pt.meyer",
            },
        ),
    ],
}
SESSIONS_LIST = {
    "summary": "List the sessions of your clinics",
    "description": (
        f"Every session recorded for your clinics' patients, whatever the program; {SYNC}. Filter by "
        "`patient`, `status`, `phase` and `performed_after`/`performed_before`. Each session listed is an "
        "audited read. Errors: 400 on a filter that is not valid, named in `attr`."
    ),
}
FLAGS_LIST = {
    "summary": "List the flags of your clinics",
    "description": (
        "What needs a clinician's attention: red flags, pain flares, overdue (7 days since the last session) "
        "and lapsed (14 days) patients, detrained ones (28 days: a retest before training on) and load rises "
        f"above 15 % in 7 days, each with when it was opened and resolved; {SYNC}. Filter by `patient`, "
        "`kind` and `open=true` for the unresolved. Each flag listed is an audited read."
    ),
}
