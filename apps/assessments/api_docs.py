"""What the partner schema says of each assessments operation: summaries, descriptions, examples.

Kept beside the views (apps.assessments.api), which spread them into `extend_schema`, so the rules a
partner reads are next to the code and the views stay short.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

NOT_YOURS = "A patient of another clinic, or none, is 404 alike."
ANGLES = ((72, "118"), (60, "131"), (48, "142"), (36, "150"), (24, "146"), (12, "138"), (0, "125"))

TESTS_LIST = {
    "summary": "List a patient's strength tests",
    "description": (
        "The patient's isometric strength tests with their points (torque at each test angle), oldest change "
        "first, cursor-paginated: follow `next`. Filter by `region`, `performed_after`/`performed_before` and "
        "`updated_since` for incremental sync. The patient's first test of a region is the familiarisation "
        f"test (`is_familiarization`), never a baseline. {NOT_YOURS} Each test listed is an audited read."
    ),
}
TEST_CREATE = {
    "summary": "Record a strength test",
    "description": (
        "Records an isometric test on one of your clinics' machines (`GET /api/v1/machines/` names them, their "
        "unit and test angles), performed by the clinician named in `recorded_by` (read-write token). `points` "
        "give the peak torque at each of the machine's test angles within the range tested, in `unit` (the "
        "machine's when omitted); the strength index and peak are computed. `performed_at` may not be before "
        "the patient's birth nor more than 5 minutes ahead. The patient's first test of a region is the "
        "familiarisation test; a later one is a baseline, or a retest that sets a running program's next load. "
        "Idempotent with `Idempotency-Key`. Errors: 400 with the field in `attr` (a point's as "
        f"`points.0.torque`; an angle that is not the machine's on `points`) and nothing written. {NOT_YOURS}"
    ),
    "examples": [
        OpenApiExample(
            "A lumbar test over the full range",
            request_only=True,
            value={
                "machine": 3,
                "performed_at": "2026-03-02T09:30:00Z",
                "rom_min_deg": 0,
                "rom_max_deg": 72,
                "points": [{"angle_deg": angle, "torque": torque} for angle, torque in ANGLES],
                "pain_before": 3,
                "pain_after": 3,
                "recorded_by": "pt.meyer",
            },
        )
    ],
}
TEST_READ = {
    "summary": "Read a strength test",
    "description": (
        "One test of a patient of your clinics with its points, index and peak, and an `ETag` for "
        "`If-None-Match` (304 while unchanged). Another clinic's test, or none, is 404. Audited."
    ),
}
QUESTIONNAIRES_LIST = {
    "summary": "List a patient's questionnaires",
    "description": (
        "The patient's ODI, NDI and pain NRS responses with their scores (ODI as %, 0-100; NDI raw, 0-50; NRS "
        "0-10; higher is worse), oldest change first, cursor-paginated. Filter by `instrument`, "
        f"`completed_after`/`completed_before` and `updated_since`. {NOT_YOURS} Each response listed is an "
        "audited read."
    ),
}
QUESTIONNAIRE_CREATE = {
    "summary": "Record a questionnaire",
    "description": (
        "Records an ODI (lumbar), NDI (cervical) or pain NRS response for the clinician named in `recorded_by` "
        "(read-write token), and scores it. `answers`: for ODI and NDI the ten section scores 0-5, `null` for a "
        "section not answered (at least 9 must be; the score is over those answered); for pain NRS one rating "
        "0-10 as `[rating]`. `completed_at` may not be before the patient's birth nor more than 5 minutes "
        "ahead. Idempotent with `Idempotency-Key`. Errors: 400 with the field in `attr` and nothing written. "
        f"{NOT_YOURS}"
    ),
    "examples": [
        OpenApiExample(
            "An ODI with one section skipped",
            request_only=True,
            value={
                "instrument": "odi",
                "completed_at": "2026-03-02T09:10:00Z",
                "answers": [2, 3, 1, None, 2, 2, 1, 0, 2, 3],
                "recorded_by": "pt.meyer",
            },
        ),
        OpenApiExample(
            "A pain rating",
            request_only=True,
            value={"instrument": "pain_nrs", "completed_at": "2026-03-02T09:12:00Z", "answers": [4]}
            | {"recorded_by": "pt.meyer"},
        ),
    ],
}
QUESTIONNAIRE_READ = {
    "summary": "Read a questionnaire response",
    "description": (
        "One response of a patient of your clinics with its answers and score, and an `ETag` for "
        "`If-None-Match` (304 while unchanged). Another clinic's, or none, is 404. Audited."
    ),
}
PROGRESS = {
    "summary": "A patient's progress",
    "description": (
        "Per region with a retest, the latest strength test against the baseline (strength index and peak over "
        "the angles both share, and the change in %); per instrument with two responses, the latest score "
        "against the first, and whether the improvement is clinically important (ODI 10 points or 30 %, NDI 5 "
        f"raw points, pain NRS 2 points or 30 %). {NOT_YOURS} Audited."
    ),
}
