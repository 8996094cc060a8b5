"""Facts rows spread over every figure of the outcomes report: bands, retests, both PROMs, dropouts."""

from __future__ import annotations

from decimal import Decimal

from apps.outcomes import rules
from apps.outcomes.models import OutcomeFact
from tests.outcomes.fixtures import fact

PACE = (Decimal("0.6"), Decimal("1.5"), Decimal("2.4"))  # one program in each adherence band, in turn
DROPOUT_WEEKS = (2, 3, 3, 4, 4, 4, 6, 8)  # of the dropped-out programs, in turn


def varied_facts(clinic, count: int, *, offset: int = 0) -> list[OutcomeFact]:
    """`count` programs of `clinic` whose figures differ from one to the next (a third dropped out)."""
    rows = []
    for index in range(offset, offset + count):
        dropped = index % 3 == 2
        rows.append(
            fact(
                clinic,
                outcome_status=rules.DROPPED_OUT if dropped else rules.COMPLETED,
                dropout_week=DROPOUT_WEEKS[index // 3 % 8] if dropped else None,
                strength_change_pct=Decimal(index * 7 % 60 - 8),
                prom_baseline=Decimal(44),
                prom_latest=Decimal(44 - index % 19),
                prom_change=Decimal(index % 19),
                prom_important=index % 19 >= 10,
                nrs_change=Decimal(index % 5),
                nrs_important=index % 5 >= 2,
                adherence_pct=Decimal(40 + index * 3 % 65),
                sessions_per_week_done=PACE[index % 3],
                sessions_completed=6 + index % 20,
                curve=((4, Decimal(index % 11)), (12, Decimal(index * 3 % 25)), (20, Decimal(index * 5 % 40))),
            )
        )
    return rows
