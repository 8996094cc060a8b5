"""Scale data: a clinic network with years of history, generated in SQL from a seed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spinezone_bench_100k python -m bench.scale --patients 100000

One organization, one clinic per 10,000 patients (`--per-clinic`), each with its staff and its lumbar and
cervical machines; every patient has a program, and with it the history a clinic accumulates:

- programs: half the patients train now (1-24 sessions in, most on track, some due, overdue or past
  lapse), half of those finished an earlier 12-week program; 10 % lapsed, 5 % on hold, 35 % completed
  within the last two years;
- training sessions at 2 a week (the same two weekdays, 3 then 4 days apart; the load rising 2 % a session),
  about 22 per patient: 100,000 patients make about 2.2 million;
- strength tests (the baseline, a retest at session 12 and, for completed programs, a discharge retest
  3 days after the last session) with a point per test angle; ODI or NDI every 14 days of a program, and
  a pain NRS with the first and the last of them; a red-flag screen per patient, a few positive and
  unreviewed; open pain flares and load-rise flags;
- the outcome facts of every program and their strength curve points (one per retest), as
  `apps.outcomes.facts` computes them from those records at the anchor: derived in SQL from the same
  numbers the records were made of (a Python rebuild over a million programs would take hours);
- reminders: the session reminders of the last four weeks (sent, or cancelled for want of consent), and
  every reminder the sweep would make at the anchor, so a sweep at the anchor finds nothing new;
- the audit trail: one event per session, test and questionnaire recorded and per reminder the sweep
  made at the anchor, chained by the trigger.

Everything is a function of the row's number and the seed (PostgreSQL's `hashint8extended`), UUIDs
included, so a seed and a size give the same rows on any machine; times are relative to the anchor,
the latest noon in Zurich that has passed, which is when the data's story ends. A database holding this
seed and size anchored at the latest noon, made by this VERSION of the generator, is kept as it is; one
holding other data is refused, or with `--force` dropped and remade.
"""

# The SQL below is composed from this module's constants and helpers only; values travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import DATASET_TABLE, Dataset, arguments, database_url, setup_django

# Bumped whenever the generator makes different rows: a dataset of an older version is remade (`main`).
# 2: outcome facts and curve points, a discharge retest, pain NRS, ODI scores as % (as the services store them).
VERSION = 2
ZONE = ZoneInfo("Europe/Zurich")  # the board clinic's zone: the anchor is its latest noon
ZONES = ["Europe/Zurich", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles"]
STAFF = {"physician": "md", "physical_therapist": "pt", "exercise_physiologist": "ep", "clinic_admin": "admin"}
GIVEN = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Karla", "Lukas"]
FAMILY = ["Meyer", "Schmidt", "Novak", "Rossi", "Dubois", "Jansen", "Larsen", "Silva", "Kowalski", "Horvat"]
TABLES = (
    "patients_patient",
    "programs_program",
    "programs_trainingsession",
    "assessments_strengthtest",
    "assessments_strengthtestpoint",
    "assessments_questionnaireresponse",
    "patients_redflagscreen",
    "programs_flag",
    "reminders_reminder",
    "audit_event",
    "outcomes_outcomefact",
    "outcomes_outcomecurvepoint",
)


def anchor_now() -> datetime:
    """The latest noon in Zurich that has passed, in UTC: due times before it fall outside quiet hours."""
    local = datetime.now(ZONE)
    noon = datetime.combine(local.date(), wall_time(12), tzinfo=ZONE)
    return (noon if noon <= local else noon - timedelta(days=1)).astimezone(UTC)


def rnd(row: str, salt: int) -> str:
    """SQL for a number in [0, 1) drawn from `row` (an integer expression) and the seed: same row, same number."""
    return (
        f"((hashint8extended(({row})::bigint, %(seed)s::bigint * 1000 + {salt}) & 2147483647)::float8 / 2147483648.0)"
    )


def uid(kind: str, *parts: str) -> str:
    """SQL for a UUID made from the seed, a kind letter and the row's numbers."""
    joined = " || ':' || ".join(f"({part})::text" for part in parts)
    return f"md5(%(seed)s::text || '{kind}' || {joined})::uuid"


# --- The statements, in order. Parameters: seed, anchor, per_clinic, patients and the id arrays. -------

PATIENTS = f"""
INSERT INTO patients_patient (id, organization_id, clinic_id, mrn, given_name, family_name, birth_date, sex,
    height_cm, body_mass_kg, email, phone, preferred_language, email_reminder_consent, email_consent_changed_at,
    unsubscribed_at, deceased_on, deleted_at, deleted_by_id, created_at, updated_at)
SELECT {uid("p", "i")}, %(organization)s, (%(clinics)s::bigint[])[i / %(per_clinic)s + 1],
    'S' || lpad(i::text, 8, '0'),
    (%(given)s::text[])[1 + floor({rnd("i", 1)} * {len(GIVEN)})::int],
    (%(family)s::text[])[1 + floor({rnd("i", 2)} * {len(FAMILY)})::int] || '-' || (i %% 997),
    date '1940-01-01' + floor({rnd("i", 3)} * 30000)::int,
    (ARRAY['female', 'male', 'female', 'male', 'other', 'unknown'])[1 + floor({rnd("i", 4)} * 6)::int],
    150 + floor({rnd("i", 5)} * 50)::int, round((45 + {rnd("i", 6)} * 75)::numeric, 1),
    'patient' || i || '@scale.test', '+41 79 ' || lpad(i::text, 7, '0'),
    (ARRAY['en', 'en', 'en', 'de', 'fr', 'es'])[1 + floor({rnd("i", 7)} * 6)::int],
    i %% 3 <> 2, %(anchor)s - interval '800 days',
    CASE WHEN i %% 50 = 7 THEN %(anchor)s - interval '30 days' END,
    CASE WHEN i %% 200 = 11 THEN (%(anchor)s - interval '40 days')::date END,
    CASE WHEN i %% 100 = 13 THEN %(anchor)s - interval '20 days' END,
    CASE WHEN i %% 100 = 13 THEN (%(admins)s::int[])[i / %(per_clinic)s + 1] END,
    %(anchor)s - interval '800 days' + make_interval(mins => floor({rnd("i", 8)} * 500000)::int),
    %(anchor)s - make_interval(mins => floor({rnd("i", 9)} * 100000)::int)
FROM generate_series(0, %(patients)s - 1) AS i
"""

# The plan of every program: who, where, how many sessions, when the last one was. An unlogged scratch
# table that the programs, sessions, tests, questionnaires and reminders are all derived from.
PLAN = f"""
CREATE UNLOGGED TABLE scale_plan AS
WITH current AS (
    SELECT i, 0 AS k, i %% 20 AS g,
        CASE WHEN {rnd("i", 20)} < 0.2 THEN 'cervical' ELSE 'lumbar' END AS region,
        {rnd("i", 21)} AS r1, {rnd("i", 22)} AS r2, {rnd("i", 23)} AS r3
    FROM generate_series(0, %(patients)s - 1) AS i
), shaped AS (
    SELECT i, k, region,
        CASE WHEN g < 10 THEN 'active' WHEN g < 12 THEN 'lapsed' WHEN g = 12 THEN 'on_hold' ELSE 'completed' END
            AS status,
        CASE WHEN g < 10 THEN 1 + floor(r1 * 24)::int WHEN g < 12 THEN 2 + floor(r1 * 12)::int
             WHEN g = 12 THEN 4 + floor(r1 * 12)::int ELSE 24 END AS n,
        %(anchor)s - CASE
            WHEN g < 10 AND r2 < 0.85 THEN make_interval(mins => floor(r3 * 5040)::int)
            WHEN g < 10 AND r2 < 0.93 THEN make_interval(mins => 5040 + floor(r3 * 5040)::int)
            WHEN g < 10 AND r2 < 0.98 THEN make_interval(mins => 10080 + floor(r3 * 10080)::int)
            WHEN g < 10 THEN make_interval(mins => 20160 + floor(r3 * 8640)::int)
            WHEN g < 12 THEN make_interval(days => 15 + floor(r3 * 45)::int)
            WHEN g = 12 THEN make_interval(days => 3 + floor(r3 * 27)::int)
            ELSE make_interval(days => 7 + floor(r3 * 700)::int) END AS last_at
    FROM current
), episodes AS (
    SELECT * FROM shaped
    UNION ALL  -- half of those training now finished a 12-week program 1-7 months before this one began
    SELECT i, 1, region, 'completed', 24,
        last_at - make_interval(days => 7 * ((n - 1) / 2) + 3 * ((n - 1) %% 2) + 30 + floor({rnd("i", 24)} * 180)::int)
    FROM shaped WHERE status = 'active' AND i %% 2 = 0
)
SELECT {uid("g", "i", "k")} AS id, {uid("p", "i")} AS patient_id, i, k, region, status, n, last_at,
    last_at - make_interval(days => 7 * ((n - 1) / 2) + 3 * ((n - 1) %% 2)) AS started_at,
    (%(clinics)s::bigint[])[i / %(per_clinic)s + 1] AS clinic_id,
    CASE WHEN region = 'lumbar' THEN (%(lumbar)s::bigint[])[i / %(per_clinic)s + 1]
         ELSE (%(cervical)s::bigint[])[i / %(per_clinic)s + 1] END AS machine_id,
    CASE WHEN i %% 2 = 0 THEN (%(therapists)s::int[])[i / %(per_clinic)s + 1]
         ELSE (%(physiologists)s::int[])[i / %(per_clinic)s + 1] END AS staff_id,
    (%(physicians)s::int[])[i / %(per_clinic)s + 1] AS physician_id,
    CASE WHEN region = 'lumbar' THEN 60 + floor({rnd("i * 2 + k", 25)} * 120)::int
         ELSE 3 * (20 + floor({rnd("i * 2 + k", 25)} * 60)::int) END AS start_load,
    CASE WHEN region = 'lumbar' THEN 72 ELSE 126 END AS rom_max,
    CASE WHEN region = 'lumbar' THEN 'ft_lbf' ELSE 'in_lbf' END AS unit,
    CASE WHEN region = 'lumbar' THEN 1.355818 ELSE 0.1129848 END AS to_nm
FROM episodes
"""

# Session s of a program: two a week, 3 then 4 days apart (never under 48 h), at the time of day of its last.
SESSION_ROW = "p.i::bigint * 64 + p.k * 32 + s"  # a number of its own for every session of the network
SESSION_AT = "p.started_at + make_interval(days => 7 * (s / 2) + 3 * (s %% 2))"


MONTHS = "extract(epoch FROM %(anchor)s - p.started_at)::int / 2419200"  # whole 28 days since the start
FORTNIGHTS = "extract(epoch FROM p.last_at - p.started_at)::int / 1209600"  # whole fortnights of the program


def load(session: str) -> str:
    """SQL for the load of a program's session number `session`: 2 % more each time, in the machine's steps."""
    grown = f"p.start_load * power(1.02, {session})"
    return f"CASE WHEN p.region = 'lumbar' THEN round({grown}) ELSE 3 * round({grown} / 3) END"


PROGRAMS = f"""
INSERT INTO programs_program (id, patient_id, clinic_id, region, machine_kind, load_unit, status, prescribed_by_id,
    sessions_per_week, planned_weeks, rep_min, rep_max, tul_min_s, tul_max_s, progression_step_pct, min_rest_hours,
    start_load, start_load_override_reason, started_at, ended_at, status_reason, current_load, proposed_load,
    proposal_action, proposal_reason, completed_sessions, last_completed_at, earliest_next_at, next_due_at,
    overdue_at, lapse_at, detrained_at, questionnaire_due_at, retest_due_at, physician_review_due_at, attendance,
    baseline_test_id, created_at, updated_at)
SELECT p.id, p.patient_id, p.clinic_id, p.region, p.region || '_extension', p.unit, p.status, p.physician_id,
    2, 12, 8, 12, 45, 150, 5, 48,
    p.start_load, '', p.started_at, CASE WHEN p.status = 'completed' THEN p.last_at END,
    CASE p.status WHEN 'lapsed' THEN 'No session for more than 14 days' WHEN 'on_hold' THEN 'Travelling'
        ELSE '' END,
    last.load,
    CASE WHEN p.status <> 'completed' THEN last.load + CASE WHEN p.region = 'lumbar' THEN 2 ELSE 3 END END,
    CASE WHEN p.status = 'completed' THEN '' ELSE 'increase' END, '',
    p.n, p.last_at, p.last_at + interval '48 hours', p.last_at + interval '84 hours',
    p.last_at + interval '7 days', p.last_at + interval '14 days', p.last_at + interval '28 days',
    CASE WHEN p.status = 'completed' THEN NULL
         ELSE p.started_at + make_interval(days => 14 * (1 + {FORTNIGHTS})) END,
    CASE WHEN p.status <> 'completed' AND p.n < 12 THEN p.started_at + interval '42 days' END,
    CASE WHEN p.status = 'completed' THEN NULL
         ELSE p.started_at + make_interval(days => 28 * (1 + {MONTHS})) END,
    CASE WHEN p.status = 'completed' THEN 'on_track'
         WHEN %(anchor)s - p.last_at > interval '28 days' THEN 'detrained'
         WHEN %(anchor)s - p.last_at > interval '14 days' THEN 'lapsed'
         WHEN %(anchor)s - p.last_at > interval '7 days' THEN 'overdue' ELSE 'on_track' END,
    {uid("t", "p.i", "p.k", "0")},
    p.started_at - interval '1 day', p.last_at
FROM scale_plan p CROSS JOIN LATERAL (SELECT {load("p.n - 1")} AS load) last
"""

SESSIONS = f"""
INSERT INTO programs_trainingsession (id, program_id, patient_id, clinic_id, machine_id, supervisor_id, performed_at,
    status, rom_min_deg, rom_max_deg, load, load_unit, reps, time_under_load_s, reached_failure, pain_before,
    pain_after, adverse_event, adverse_event_note, red_flag_reported, proposed_load, proposal_action,
    proposal_reason, override_reason, early_reason, was_pain_hold, was_below_minimum, created_at, updated_at)
SELECT {uid("s", "p.i", "p.k", "s")}, p.id, p.patient_id, p.clinic_id, p.machine_id, p.staff_id,
    {SESSION_AT},
    CASE WHEN {rnd(SESSION_ROW, 31)} < 0.02 THEN 'stopped_early' ELSE 'completed' END,
    0, p.rom_max, {load("s")}, p.unit,
    8 + floor({rnd(SESSION_ROW, 32)} * 6)::int, 60 + floor({rnd(SESSION_ROW, 33)} * 70)::int,
    true, floor({rnd(SESSION_ROW, 34)} * 6)::int, floor({rnd(SESSION_ROW, 35)} * 6)::int,
    false, '', false, CASE WHEN s > 0 THEN {load("s")} END, CASE WHEN s = 0 THEN 'start' ELSE 'increase' END,
    '', '', '', false, false, {SESSION_AT}, {SESSION_AT}
FROM scale_plan p CROSS JOIN LATERAL generate_series(0, p.n - 1) AS s
"""

# Tests: the baseline the day before the first session, a retest the day before session 12 (t = 0, 1),
# and a completed program's discharge retest 3 days after its 24th and last session (t = 2).
LAST_TEST = "((p.n - 1) / 12 + CASE WHEN p.status = 'completed' THEN 1 ELSE 0 END)"
ANGLES = (
    "CASE WHEN p.region = 'lumbar' THEN ARRAY[72, 60, 48, 36, 24, 12, 0]"
    " ELSE ARRAY[126, 108, 90, 72, 54, 36, 18, 0] END"
)
ANGLE_STEP = "CASE WHEN p.region = 'lumbar' THEN 12 ELSE 18 END"


def peak(test: str) -> str:
    """SQL for the peak torque (machine unit) of test number `test` of a program: 15 % more each retest."""
    return f"round(2.2 * p.start_load * (1 + 0.15 * {test}))"


def torque_nm(test: str, angle: str) -> str:
    """SQL for a test point's torque in N·m, as stored (the torque rises linearly with the angle)."""
    return f"round({peak(test)} * (0.5 + 0.5 * {angle} / p.rom_max) * p.to_nm, 2)"


def strength_index(test: str) -> str:
    """SQL for the strength index (trapezoids of N·m over the angles, equally spaced) of test `test`."""
    every = f"(SELECT sum({torque_nm(test, 'a')}) FROM unnest({ANGLES}) AS a)"
    return f"(({every} - ({torque_nm(test, '0')} + {torque_nm(test, 'p.rom_max')}) / 2) * {ANGLE_STEP})"


TESTS = f"""
INSERT INTO assessments_strengthtest (id, patient_id, clinic_id, machine_id, recorded_by_id, region, performed_at,
    is_familiarization, rom_min_deg, rom_max_deg, pain_before, pain_after, peak_torque_nm, strength_index_nm_deg,
    created_at, updated_at)
SELECT {uid("t", "p.i", "p.k", "t")}, p.patient_id, p.clinic_id, p.machine_id, p.staff_id, p.region, x.at,
    false, 0, p.rom_max, 3, 3, round(x.peak * p.to_nm, 2), round(0.75 * x.peak * p.to_nm * p.rom_max, 2), x.at, x.at
FROM scale_plan p CROSS JOIN LATERAL generate_series(0, {LAST_TEST}) AS t
CROSS JOIN LATERAL (SELECT p.started_at + make_interval(days => CASE WHEN t = 2 THEN 7 * 11 + 3 + 3
        ELSE 7 * ((12 * t) / 2) - 1 END) AS at,
    {peak("t")} AS peak) x
"""
POINTS = f"""
INSERT INTO assessments_strengthtestpoint (test_id, angle_deg, torque, unit, torque_nm)
SELECT {uid("t", "p.i", "p.k", "t")}, a.angle, round(x.peak * (0.5 + 0.5 * a.angle / p.rom_max), 1), p.unit,
    round(x.peak * (0.5 + 0.5 * a.angle / p.rom_max) * p.to_nm, 2)
FROM scale_plan p CROSS JOIN LATERAL generate_series(0, {LAST_TEST}) AS t
CROSS JOIN LATERAL (SELECT {peak("t")} AS peak) x
CROSS JOIN LATERAL unnest({ANGLES}) AS a(angle)
"""

ITEM_ROW = "p.i::bigint * 4096 + p.k * 2048 + q * 16 + item"  # one number per questionnaire item of the network


def section_sum(q: str) -> str:
    """SQL for the sum of the ten section scores (0-50) of a program's questionnaire number `q`."""
    row = ITEM_ROW.replace("q * 16", f"({q}) * 16")
    return (
        f"(SELECT sum(least(5, greatest(0, greatest(0, 4 - ({q}) / 2) + floor({rnd(row, 40)} * 3)::int - 1)))::int"
        " FROM generate_series(1, 10) AS item)"
    )


def pain(q: str) -> str:
    """SQL for the pain NRS (0-10) given with questionnaire number `q`: easing with the ODI/NDI."""
    row = f"p.i::bigint * 64 + p.k * 32 + ({q})"
    return f"least(10, greatest(0, 2 * greatest(0, 4 - ({q}) / 2) - 1 + floor({rnd(row, 41)} * 4)::int))"


# ODI (lumbar) or NDI (cervical) every 14 days of a program, ten items easing as the weeks pass. The
# score is the ODI % (twice the section sum) or the NDI's raw sum, as the services store them.
QUESTIONNAIRES = f"""
INSERT INTO assessments_questionnaireresponse (id, patient_id, clinic_id, recorded_by_id, instrument, completed_at,
    answers, score, percent, band, answered, created_at, updated_at)
SELECT {uid("q", "p.i", "p.k", "q")}, p.patient_id, p.clinic_id, p.staff_id,
    CASE WHEN p.region = 'lumbar' THEN 'odi' ELSE 'ndi' END, x.at, to_jsonb(a.items),
    CASE WHEN p.region = 'lumbar' THEN a.score * 2 ELSE a.score END, a.score * 2,
    CASE WHEN p.region = 'lumbar' THEN CASE WHEN a.score * 2 <= 20 THEN 'minimal' WHEN a.score * 2 <= 40 THEN 'moderate'
            WHEN a.score * 2 <= 60 THEN 'severe' WHEN a.score * 2 <= 80 THEN 'crippled' ELSE 'bed_bound' END
         ELSE CASE WHEN a.score <= 4 THEN 'none' WHEN a.score <= 14 THEN 'mild' WHEN a.score <= 24 THEN 'moderate'
            WHEN a.score <= 34 THEN 'severe' ELSE 'complete' END END,
    10, x.at, x.at
FROM scale_plan p CROSS JOIN LATERAL generate_series(0, {FORTNIGHTS}) AS q
CROSS JOIN LATERAL (SELECT p.started_at + make_interval(days => 14 * q, mins => -45) AS at,
    greatest(0, 4 - q / 2) AS level) x
CROSS JOIN LATERAL (SELECT array_agg(v) AS items, sum(v)::int AS score FROM (
    SELECT least(5, greatest(0, x.level + floor({rnd(ITEM_ROW, 40)} * 3)::int - 1)) AS v
    FROM generate_series(1, 10) AS item) v) a
"""
# A pain NRS with the program's first questionnaire and with its last (when it has more than one), 5
# minutes after it.
PAIN_RATINGS = f"""
INSERT INTO assessments_questionnaireresponse (id, patient_id, clinic_id, recorded_by_id, instrument, completed_at,
    answers, score, percent, band, answered, created_at, updated_at)
SELECT {uid("n", "p.i", "p.k", "q")}, p.patient_id, p.clinic_id, p.staff_id, 'pain_nrs', x.at,
    jsonb_build_array(x.rating), x.rating, x.rating * 10, '', 1, x.at, x.at
FROM scale_plan p CROSS JOIN LATERAL (SELECT DISTINCT unnest(ARRAY[0, {FORTNIGHTS}]) AS q) qs
CROSS JOIN LATERAL (SELECT p.started_at + make_interval(days => 14 * qs.q, mins => -40) AS at,
    {pain("qs.q")} AS rating) x
"""

# --- The outcome facts, as apps.outcomes.facts and rules compute them from the records above at the anchor.
# The records are functions of the plan, so the facts are computed from the same functions, not read back.
COMPLETED_BEFORE = (
    "(SELECT count(*) FROM generate_series(0, 12 * {t} - 1) AS s WHERE " + rnd(SESSION_ROW, 31) + " >= 0.02)"
)
WEEKS_TO = "greatest(0, extract(epoch FROM {end} - p.started_at)) / 604800"  # rules.weeks_between
FACTS = f"""
INSERT INTO outcomes_outcomefact (program_id, patient_id, clinic_id, organization_id, region, program_status,
    outcome_status, age_band, sex, started_at, ended_at, strength_baseline, strength_latest, strength_change_pct,
    prom_instrument, prom_baseline, prom_latest, prom_change, prom_important, nrs_baseline, nrs_latest,
    nrs_change, nrs_important, sessions_completed, sessions_prescribed, adherence_pct, weeks_in_program,
    sessions_per_week_done, dropout_week, as_of)
SELECT p.id, p.patient_id, p.clinic_id, %(organization)s, p.region, p.status,
    CASE p.status WHEN 'completed' THEN 'completed' WHEN 'lapsed' THEN 'dropped_out' ELSE 'in_progress' END,
    CASE WHEN y.age >= 90 THEN '90+' ELSE (y.age - y.age %% 5) || '-' || (y.age - y.age %% 5 + 4) END,
    pa.sex, p.started_at, CASE WHEN p.status = 'completed' THEN p.last_at END,
    st.base, st.latest, round((st.latest - st.base) / st.base * 100, 1),
    CASE WHEN p.region = 'lumbar' THEN 'odi' ELSE 'ndi' END,
    pr.base, pr.latest, pr.base - pr.latest,
    CASE WHEN pr.latest IS NOT NULL THEN CASE WHEN p.region = 'lumbar'
        THEN pr.base - pr.latest >= 10 OR (pr.base > 0 AND (pr.base - pr.latest) * 100 >= 30 * pr.base)
        ELSE pr.base - pr.latest >= 5 END END,
    pr.nrs_base, pr.nrs_latest, pr.nrs_base - pr.nrs_latest,
    CASE WHEN pr.nrs_latest IS NOT NULL THEN pr.nrs_base - pr.nrs_latest >= 2
        OR (pr.nrs_base > 0 AND (pr.nrs_base - pr.nrs_latest) * 100 >= 30 * pr.nrs_base) END,
    p.n, w.prescribed, round(p.n * 100.0 / w.prescribed, 1), trunc(w.weeks, 1),
    round(p.n / greatest(w.weeks, 1), 2),
    CASE WHEN p.status = 'lapsed' THEN floor({WEEKS_TO.format(end="p.last_at")})::int + 1 END,
    %(anchor)s
FROM scale_plan p JOIN patients_patient pa ON pa.id = p.patient_id
CROSS JOIN LATERAL (SELECT (p.started_at AT TIME ZONE 'UTC')::date AS day) d
CROSS JOIN LATERAL (SELECT (extract(year FROM d.day) - extract(year FROM pa.birth_date)
    - CASE WHEN (extract(month FROM d.day), extract(day FROM d.day))
        < (extract(month FROM pa.birth_date), extract(day FROM pa.birth_date)) THEN 1 ELSE 0 END)::int AS age) y
CROSS JOIN LATERAL (SELECT {
    WEEKS_TO.format(
        end="CASE p.status WHEN 'completed' THEN p.last_at "
        "WHEN 'lapsed' THEN least(p.last_at + interval '14 days', %(anchor)s) ELSE %(anchor)s END"
    )
} AS weeks) w0
CROSS JOIN LATERAL (SELECT w0.weeks, greatest(1, least(floor(2 * w0.weeks)::int, 24)) AS prescribed) w
CROSS JOIN LATERAL (SELECT {strength_index("0")} AS base,
    CASE WHEN {LAST_TEST} > 0 THEN {strength_index(LAST_TEST)} END AS latest) st
CROSS JOIN LATERAL (SELECT {FORTNIGHTS} AS f) f
CROSS JOIN LATERAL (SELECT
    {section_sum("0")} * CASE WHEN p.region = 'lumbar' THEN 2 ELSE 1 END AS base,
    CASE WHEN f.f > 0 THEN {section_sum("f.f")} * CASE WHEN p.region = 'lumbar' THEN 2 ELSE 1 END END AS latest,
    {pain("0")} AS nrs_base, CASE WHEN f.f > 0 THEN {pain("f.f")} END AS nrs_latest) pr
"""
# A curve point per retest: the sessions completed before it (those not stopped early), its index change.
CURVE = f"""
INSERT INTO outcomes_outcomecurvepoint (program_id, session_number, change_pct)
SELECT p.id, {COMPLETED_BEFORE.format(t="t")}, round(({strength_index("t")} - st.base) / st.base * 100, 1)
FROM scale_plan p CROSS JOIN LATERAL (SELECT {strength_index("0")} AS base) st
CROSS JOIN LATERAL generate_series(1, {LAST_TEST}) AS t
ORDER BY p.id, t
"""

SCREENS = f"""
INSERT INTO patients_redflagscreen (id, patient_id, clinic_id, region, answers, result, screened_at, reviewed_at,
    review_outcome, review_note, created_at, screened_by_id, reviewed_by_id)
SELECT {uid("r", "p.i")}, p.patient_id, p.clinic_id, p.region,
    CASE WHEN p.i %% 300 = 5 THEN '{{"night_pain": true}}'::jsonb ELSE '{{"night_pain": false}}'::jsonb END,
    CASE WHEN p.i %% 300 = 5 THEN 'refer' ELSE 'clear' END, p.started_at - interval '2 days', NULL, '', '',
    p.started_at - interval '2 days', p.physician_id, NULL
FROM scale_plan p WHERE p.k = 0
"""
FLAGS = f"""
INSERT INTO programs_flag (id, patient_id, program_id, kind, reason, opened_at, resolved_at, resolution,
    created_at, updated_at)
SELECT {uid("f", "p.i")}, p.patient_id, p.id,
    CASE WHEN p.i %% 3 = 0 THEN 'rapid_rise' ELSE 'pain_flare' END,
    CASE WHEN p.i %% 3 = 0 THEN 'Load up more than 15 %% in 7 days' ELSE 'Pain up 3 points after the set' END,
    p.last_at, NULL, '', p.last_at, p.last_at
FROM scale_plan p WHERE p.k = 0 AND p.status = 'active' AND p.i %% 97 = 3
"""

# The session reminders of the last four weeks: sent to those who consent, else cancelled, as the sweep
# left them. Session s > 0 was due 3 days 12 hours after session s - 1.
REMINDERS = f"""
INSERT INTO reminders_reminder (id, patient_id, program_id, clinic_id, kind, channel, due_at, scheduled_for, state,
    cancel_reason, attempts, sent_at, message_id, last_error, created_at, updated_at)
SELECT {uid("m", "p.i", "p.k", "s")}, p.patient_id, p.id, p.clinic_id, 'session_due', 'email', d.due, d.due,
    CASE WHEN pa.email_reminder_consent THEN 'sent' ELSE 'cancelled' END,
    CASE WHEN pa.email_reminder_consent THEN '' ELSE 'no_consent' END,
    CASE WHEN pa.email_reminder_consent THEN 1 ELSE 0 END,
    CASE WHEN pa.email_reminder_consent THEN d.due END,
    CASE WHEN pa.email_reminder_consent THEN '<scale-' || p.i || '-' || p.k || '-' || s || '@spinezone>' ELSE '' END,
    '', d.due, d.due
FROM scale_plan p JOIN patients_patient pa ON pa.id = p.patient_id
CROSS JOIN LATERAL generate_series(1, p.n - 1) AS s
CROSS JOIN LATERAL (SELECT p.started_at + make_interval(days => 7 * ((s - 1) / 2) + 3 * ((s - 1) %% 2), hours => 84)
    AS due) d
WHERE d.due > %(anchor)s - interval '28 days' AND d.due <= %(anchor)s - interval '1 day'
"""
# What the sweep did at the anchor, marked done: rows made (and audited) by the sweep's own SQL
# (bench.reminder_sweep's baseline), then the pending ones sent.
SWEPT = """UPDATE reminders_reminder SET state = 'sent', attempts = 1, sent_at = scheduled_for,
    message_id = '<scale-swept-' || id || '@spinezone>' WHERE state = 'pending'"""

# One audit event per record entered, in time order (the trigger numbers and chains them as it goes).
AUDIT = """
INSERT INTO audit_event (occurred_at, action, actor_id, actor_label, object_type, object_id, channel, request_id,
    ip_address, organization_id, clinic_id, patient_id)
SELECT e.at, 'create', e.actor, '', e.kind, e.id::text, 'web', '', NULL, %(organization)s, e.clinic_id, e.patient_id
FROM (
    SELECT performed_at AS at, supervisor_id AS actor, 'programs.trainingsession' AS kind, id, clinic_id, patient_id
    FROM programs_trainingsession
    UNION ALL
    SELECT performed_at, recorded_by_id, 'assessments.strengthtest', id, clinic_id, patient_id
    FROM assessments_strengthtest
    UNION ALL
    SELECT completed_at, recorded_by_id, 'assessments.questionnaireresponse', id, clinic_id, patient_id
    FROM assessments_questionnaireresponse
) e
ORDER BY e.at, e.id
"""


# --- Running them ---------------------------------------------------------------------------------------


def _cast(patients: int, per_clinic: int, seed: int) -> dict[str, Any]:
    """The organization, its clinics, machines and staff (the ORM: few rows, and the model's own defaults)."""
    from django.contrib.auth import get_user_model

    from apps.clinics.models import MACHINE_DEFAULTS, Clinic, Machine, Membership, Organization

    user_model = get_user_model()
    organization = Organization.objects.create(slug=f"scale-{patients}", name=f"Scale network ({patients} patients)")
    cast: dict[str, Any] = {"organization": organization.pk, "clinics": [], "lumbar": [], "cervical": []}
    cast.update({f"{role}s": [] for role in ("physician", "therapist", "physiologist", "admin")})
    for number in range(1, -(-patients // per_clinic) + 1):
        clinic = Clinic.objects.create(
            organization=organization,
            name=f"Clinic {number:03d}",
            timezone=ZONES[(number - 1) % len(ZONES)],
            city=f"City {number:03d}",
            quiet_hours_start="21:00",
            quiet_hours_end="08:00",
        )
        cast["clinics"].append(clinic.pk)
        for kind, key in (("lumbar_extension", "lumbar"), ("cervical_extension", "cervical")):
            defaults = MACHINE_DEFAULTS[kind]
            machine = Machine.objects.create(
                clinic=clinic,
                kind=kind,
                name=f"{key.title()} {number:03d}",
                serial_number=f"S{seed}-{number}-{key}",
                min_load=0,
                max_load=1000,
                **defaults,
            )
            cast[key].append(machine.pk)
        for role, short in STAFF.items():
            user = user_model.objects.create_user(username=f"scale.{short}.{number:03d}", password=None)
            Membership.objects.create(user=user, clinic=clinic, role=role)
            key = {
                "physician": "physicians",
                "physical_therapist": "therapists",
                "exercise_physiologist": "physiologists",
                "clinic_admin": "admins",
            }[role]
            cast[key].append(user.pk)
    return cast


def _step(cursor: Any, label: str, sql: str, params: dict[str, Any], log: Any) -> int:
    started = time.perf_counter()
    cursor.execute(sql, params)
    log(f"  {label:<28}{cursor.rowcount:>12,} rows {time.perf_counter() - started:>8.1f} s")
    return cursor.rowcount


def generate(patients: int, *, seed: int = 1, per_clinic: int = 10_000, log: Any = print) -> Dataset:
    """Make the dataset in the (empty) database Django is connected to, and record it in bench_dataset."""
    from django.db import connection, transaction

    from bench.reminder_sweep import KINDS, MATERIALISE, ROUND

    started = time.perf_counter()
    anchor = anchor_now()
    with transaction.atomic():
        cast = _cast(patients, per_clinic, seed)
    params = {
        **cast,
        "seed": seed,
        "anchor": anchor,
        "patients": patients,
        "per_clinic": per_clinic,
        "given": GIVEN,
        "family": FAMILY,
    }
    with connection.cursor() as cursor:
        # Bulk loading: a crash loses the load, not the database; and PostgreSQL may use more memory to sort.
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("DROP TABLE IF EXISTS scale_plan")
        steps = [
            ("patients", PATIENTS),
            ("plan", PLAN),
            ("strength tests", TESTS),  # before the programs, which name their baseline test
            ("test points", POINTS),
            ("programs", PROGRAMS),
            ("sessions", SESSIONS),
            ("questionnaires", QUESTIONNAIRES),
            ("pain ratings", PAIN_RATINGS),
            ("outcome facts", FACTS),
            ("outcome curve points", CURVE),
            ("red-flag screens", SCREENS),
            ("flags", FLAGS),
            ("reminders (4 weeks)", REMINDERS),
        ]
        for label, sql in steps:
            with transaction.atomic():
                _step(cursor, label, sql, params, log)
            if label == "plan":
                cursor.execute("ANALYZE scale_plan")
        cursor.execute("ANALYZE")  # the sweep's SQL below plans on fresh statistics
        with transaction.atomic():
            for kind, due, extra in KINDS:
                sweep = {"now": anchor, "kind": kind}
                # Rounds, as the beat's ticks would run them, until a round comes back short.
                while (
                    _step(cursor, f"reminders ({kind})", MATERIALISE.format(due=due, extra=extra), sweep, log) == ROUND
                ):
                    pass
            _step(cursor, "reminders sent", SWEPT, {}, log)
        with transaction.atomic():
            _step(cursor, "audit events", AUDIT, params, log)
        cursor.execute("DROP TABLE scale_plan")
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        # Fresh statistics and a vacuumed visibility map, as autovacuum would leave a live database:
        # without them the planner takes bulk-loaded tables for empty and index-only scans visit the heap.
        started_vacuum = time.perf_counter()
        cursor.execute("VACUUM (ANALYZE)")
        log(f"  {'vacuum, analyze':<28}{'':>12}      {time.perf_counter() - started_vacuum:>8.1f} s")
    made = Dataset(
        seed=seed,
        patients=patients,
        organization_id=cast["organization"],
        clinic_ids=cast["clinics"],
        board_clinic_id=cast["clinics"][0],
        staff_username="scale.pt.001",
        anchor=anchor,
        counts=counts,
        seconds=round(time.perf_counter() - started, 1),
        version=VERSION,
    )
    facts = {**made.__dict__, "anchor": anchor.isoformat()}
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {DATASET_TABLE} (facts jsonb NOT NULL)")
        cursor.execute(f"DELETE FROM {DATASET_TABLE}")
        cursor.execute(f"INSERT INTO {DATASET_TABLE} (facts) VALUES (%s)", [json.dumps(facts)])
    return made


def main(argv: list[str] | None = None) -> int:
    parser = arguments(
        __doc__,
        patients=dict(type=int, default=100_000, help="patients in the network (default 100,000)"),
        per_clinic=dict(type=int, default=10_000, help="patients per clinic (default 10,000: 5,000 training)"),
        seed=dict(type=int, default=1),
        force=dict(action="store_true", help="drop and remake the database unless it holds this very dataset"),
    )
    args = parser.parse_args(argv)
    if args.patients < 1 or args.per_clinic < 1:
        sys.exit("--patients and --per-clinic must be at least 1.")
    url = database_url()
    made = existing(url)
    # Kept while its story ends at the latest noon: the board and the sweep read it against the clock.
    current = made is not None and (made.seed, made.patients, made.anchor, made.version) == (
        args.seed,
        args.patients,
        anchor_now(),
        VERSION,
    )
    if current:
        print(
            f"kept: {made.patients:,} patients (seed {made.seed}, version {made.version}), "
            f"anchored at {made.anchor:%Y-%m-%d %H:%M} UTC"
        )
        return 0
    if made is not None or _has_patients(url):
        if not args.force:
            sys.exit("the database holds other data or an older dataset: name an empty one, or pass --force")
        _drop(url)
    setup_django(url)
    from django_scopes import scopes_disabled

    print(f"generating {args.patients:,} patients, {args.per_clinic:,} per clinic, seed {args.seed} …")
    with scopes_disabled():
        made = generate(args.patients, seed=args.seed, per_clinic=args.per_clinic)
    print(f"generated in {made.seconds:.0f} s: " + ", ".join(f"{t} {n:,}" for t, n in made.counts.items()))
    return 0


def existing(url: str) -> Dataset | None:
    import psycopg

    from bench.common import dataset

    try:
        with psycopg.connect(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return None
    try:
        return dataset(url)
    except SystemExit:
        return None


def _has_patients(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            if conn.execute("SELECT to_regclass('patients_patient')").fetchone()[0] is None:
                return False
            return conn.execute("SELECT EXISTS (SELECT 1 FROM patients_patient)").fetchone()[0]
    except psycopg.OperationalError:
        return False


def _drop(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path.lstrip("/"))))


if __name__ == "__main__":
    raise SystemExit(main())
