"""Tamper evidence for audit_event on PostgreSQL: append-only, and a SHA-256 hash chain.

SQLite (the embedded demo) gets the two columns and nothing else: it has no such triggers.

- `audit_event_append_only`: UPDATE and DELETE are refused, always; TRUNCATE too, unless the session
  setting `spinezone.audit_truncate` is `on`. Only the test settings set it (pytest-django empties
  tables with TRUNCATE between transactional tests); production never does. This stops every code
  path of the application (ORM, bulk, raw SQL); it is not a wall against a role that owns the table
  or can SET the switch: for that, run the application as a role that does not own audit_event. What
  such a role does behind the triggers is what the chain reveals (`manage.py audit_verify`).
- `audit_event_chain`: every inserted row, by any path (ORM save, bulk_create, the raw unnest INSERT
  of `apps.audit.events.record_row_reads`, psql), gets `seq` = the last event's + 1 and `hash` =
  `audit_event_digest(previous hash, row)`, the serialisation `apps.audit.chain` recomputes.

Existing events are chained first, in id order.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Serialises the chain: taken by every transaction that inserts an event, held until it commits or
# rolls back. The chain needs it: a transaction chaining onto an uncommitted head would fork it (or
# chain onto a row that rolls back). The cost is that transactions writing audit events run their
# remaining work, from their first event to their commit, one at a time. A request that only reads
# commits its events at once (autocommit, one statement), so the lock lives for one INSERT; service
# transactions are short (milliseconds). A transaction that records an event and then waits for a
# row lock held by one waiting for this lock deadlocks; PostgreSQL aborts one of the two after
# deadlock_timeout, as with any lock-order inversion: a service takes its row locks (select_for_update)
# before it records its first event. Under REPEATABLE READ a waiter would read
# a stale head: the unique index on seq then refuses the row rather than forking the chain.
# Per row the trigger costs 20-30 us in the server (EXPLAIN ANALYZE of a 1,000-row INSERT: the head
# lookup and the digest, about half each), so 2-3 ms on the API's 100-row patient page.
# The key is arbitrary; nothing else in SpineZone takes advisory locks.
CHAIN_LOCK = 7_151_290_417

DIGEST = r"""
CREATE FUNCTION audit_event_digest(prev text, e audit_event) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  -- Mirrors apps.audit.chain.canonical: "<prev>|<field>|...", field = "-" or "<bytes>:<text>".
  -- text || NULL is NULL, so coalesce() turns a NULL column into "-". abbrev(inet) prints what inet's
  -- output function (and so Django) prints; a plain ::text cast would add "/32". One expression with
  -- no FROM, so the planner inlines it into the trigger's assignment.
  SELECT encode(sha256(convert_to(prev
    || '|' || coalesce(octet_length(e.seq::text) || ':' || e.seq::text, '-')
    || '|' || coalesce(octet_length(e.id::text) || ':' || e.id::text, '-')
    || '|' || coalesce(octet_length(to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                       || ':' || to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '-')
    || '|' || coalesce(octet_length(e.action) || ':' || e.action, '-')
    || '|' || coalesce(octet_length(e.actor_id::text) || ':' || e.actor_id::text, '-')
    || '|' || coalesce(octet_length(e.actor_label) || ':' || e.actor_label, '-')
    || '|' || coalesce(octet_length(e.organization_id::text) || ':' || e.organization_id::text, '-')
    || '|' || coalesce(octet_length(e.clinic_id::text) || ':' || e.clinic_id::text, '-')
    || '|' || coalesce(octet_length(e.patient_id::text) || ':' || e.patient_id::text, '-')
    || '|' || coalesce(octet_length(e.object_type) || ':' || e.object_type, '-')
    || '|' || coalesce(octet_length(e.object_id) || ':' || e.object_id, '-')
    || '|' || coalesce(octet_length(e.channel) || ':' || e.channel, '-')
    || '|' || coalesce(octet_length(e.request_id) || ':' || e.request_id, '-')
    || '|' || coalesce(octet_length(abbrev(e.ip_address)) || ':' || abbrev(e.ip_address), '-')
  , 'UTF8')), 'hex')
$$;
"""

CHAIN = rf"""
CREATE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
  -- A fresh snapshot (READ COMMITTED): sees the head the previous lock holder committed, and the
  -- rows this statement inserted before this one.
  SELECT seq, hash INTO head_seq, head_hash FROM audit_event WHERE seq > 0 ORDER BY seq DESC LIMIT 1;
  NEW.seq := coalesce(head_seq, 0) + 1;
  NEW.hash := audit_event_digest(coalesce(head_hash, repeat('0', 64)), NEW);
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_chain();
"""

APPEND_ONLY = r"""
CREATE FUNCTION audit_event_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' AND current_setting('spinezone.audit_truncate', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit events are never changed or removed; record a new event instead.';
END
$$;
-- Statement triggers: an UPDATE or DELETE is refused even when it matches no row.
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse();
"""

BACKFILL = r"""
DO $$
DECLARE
  row audit_event;
  prev text := repeat('0', 64);
  n bigint := 0;
BEGIN
  FOR row IN SELECT * FROM audit_event ORDER BY id LOOP
    n := n + 1;
    row.seq := n;
    prev := audit_event_digest(prev, row);
    UPDATE audit_event SET seq = n, hash = prev WHERE id = row.id;
  END LOOP;
END
$$;
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS audit_event_chain ON audit_event;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
DROP FUNCTION IF EXISTS audit_event_chain();
DROP FUNCTION IF EXISTS audit_event_refuse();
DROP FUNCTION IF EXISTS audit_event_digest(text, audit_event);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # octet_length() counts bytes in the server encoding; the chain counts UTF-8 bytes.
        cursor.execute("SHOW server_encoding")
        if cursor.fetchone()[0] != "UTF8":
            raise RuntimeError("The audit hash chain needs a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8').")
        for sql in (DIGEST, BACKFILL, CHAIN, APPEND_ONLY):
            cursor.execute(sql)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='event',
            name='hash',
            field=models.CharField(db_default='', editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='event',
            name='seq',
            field=models.BigIntegerField(editable=False, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='event',
            name='action',
            field=models.CharField(choices=[('create', 'Create'), ('read', 'Read'), ('update', 'Update'), ('delete', 'Delete'), ('denied', 'Denied'), ('login_failed', 'Login failed'), ('export', 'Export')], max_length=16),
        ),
        migrations.AlterField(
            model_name='event',
            name='object_id',
            field=models.CharField(help_text="The row's id, or the path of a refused request.", max_length=255),
        ),
        migrations.AlterField(
            model_name='event',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='event',
            name='clinic',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='clinics.clinic'),
        ),
        migrations.AlterField(
            model_name='event',
            name='organization',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='clinics.organization'),
        ),
        migrations.AlterField(
            model_name='event',
            name='patient',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.patient'),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
