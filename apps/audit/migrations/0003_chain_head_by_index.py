"""The chain trigger finds the head through the unique index on seq, whatever the statistics say.

PL/pgSQL plans the head lookup (`... ORDER BY seq DESC LIMIT 1`) once per connection, on the
statistics of that moment. Planned while audit_event is analysed as empty (a new database, or one
just restored), the plan is a sequential scan, and the connection keeps it as the table grows: every
event then reads every event before it. Measured at scale (bench.scale): a 20,000-row INSERT took
28 s instead of 0.3 s, and 3 million events would take days. Switching sequential scans off for the
trigger's own statements leaves the planner one plan, the index's, at the cost of nothing.
"""

from django.db import migrations

FORWARD = "ALTER FUNCTION audit_event_chain() SET enable_seqscan = off"
BACKWARD = "ALTER FUNCTION audit_event_chain() RESET enable_seqscan"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_tamper_evidence")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
