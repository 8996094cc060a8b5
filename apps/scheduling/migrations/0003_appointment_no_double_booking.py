"""No double booking, whatever the code path: on PostgreSQL an exclusion constraint refuses two live
appointments of one machine whose time ranges overlap (`[)` ranges: back-to-back slots do not).
SQLite, the embedded default, has no such constraint: the booking service must check it there."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_double_booking
    EXCLUDE USING gist (machine_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
    WHERE (state IN ('booked', 'checked_in'));
"""
DROP = "ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_no_double_booking;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_appointment")]
    operations = [migrations.RunPython(forwards, backwards)]
