"""A lumbar program with known figures, written through the services, for the progress report's tests.

Baseline (ft·lbf) 72°: 100, 48°: 150, 24°: 130; the retest on day 8 is 20 % stronger at each angle
(120, 180, 156). In N·m (1 ft·lbf = 1.355818 N·m, stored to 2 places): 135.58, 203.37, 176.26 and
162.70, 244.05, 211.51. Strength index over 24-72° (trapezoids of 24° each):
(176.26 + 203.37) / 2 x 24 + (203.37 + 135.58) / 2 x 24 = 4555.56 + 4067.40 = 8622.96 N·m·deg,
and after (211.51 + 244.05) / 2 x 24 + (244.05 + 162.70) / 2 x 24 = 5466.72 + 4881.00 = 10347.72:
+20.0 %. ODI 80 % (all sections 4) at the start, 40 % (all 2) on day 9: 40 points, important.
Pain NRS 6 then 3: 3 points (50 %), important. Sessions on days 3, 5, 7 and 10 at the proposed load.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apps.assessments import services as assessment_services
from apps.programs import services, sessions
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 10, tzinfo=LA)  # a Friday
BASELINE = [(72, 100), (48, 150), (24, 130)]
RETEST = [(72, 120), (48, 180), (24, 156)]
SESSION_DAYS = (3, 5, 7, 10)
ISSUED = START + timedelta(days=11)


class History:
    def __init__(self, clinician, clinic, serial: str = "PR-1", patient=None):
        self.clinician = clinician
        self.machine = factories.MachineFactory(clinic=clinic, serial_number=serial, name="Lumbar 1")
        self.patient = patient or factories.PatientFactory(
            clinic=clinic, family_name="Quintero", given_name="Rosa", mrn="PR-0042"
        )
        self.test(START - timedelta(days=7), BASELINE)  # familiarisation
        baseline = self.test(START - timedelta(days=3), BASELINE)
        program = services.program_create(
            actor=clinician, patient=self.patient, region="lumbar", baseline_test=baseline, planned_weeks=12
        )
        self.program = services.program_start(actor=clinician, program=program, now=START)

    def test(self, at, points):
        return assessment_services.strength_test_record(
            actor=self.clinician, patient=self.patient, machine=self.machine, performed_at=at,
            rom_min_deg=0, rom_max_deg=72, points=points,
        )  # fmt: skip

    def questionnaire(self, instrument, at, answers):
        assessment_services.questionnaire_record(
            actor=self.clinician, patient=self.patient, instrument=instrument, answers=answers, completed_at=at
        )

    def session(self, at, **given):
        self.program.refresh_from_db()
        values = {"reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2, "pain_after": 2}
        sessions.session_record(
            actor=self.clinician, program=self.program, machine=self.machine, performed_at=at,
            load=self.program.proposed_load, now=at + timedelta(hours=1), **{**values, **given},
        )  # fmt: skip

    def write(self):
        """The known history: tests, questionnaires and four sessions."""
        self.questionnaire("odi", START, [4] * 10)
        self.questionnaire("pain_nrs", START, [6])
        for day in SESSION_DAYS[:3]:
            self.session(START + timedelta(days=day))
        self.test(START + timedelta(days=8), RETEST)
        self.questionnaire("odi", START + timedelta(days=9), [2] * 10)
        self.questionnaire("pain_nrs", START + timedelta(days=9), [3])
        self.session(START + timedelta(days=SESSION_DAYS[3]))
        self.program.refresh_from_db()
        return self
