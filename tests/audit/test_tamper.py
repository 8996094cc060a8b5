"""Tamper evidence: the application cannot change the trail, and the chain shows what a superuser did."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, connections, transaction

from apps.audit import chain, events
from apps.audit.models import Action, Event
from apps.audit.subjects import Subject
from tests.audit.conftest import make_event, raw_connection

APPEND_ONLY = "audit_event is append-only"


def verify_output() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


# --- Append-only ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda event: Event.objects.filter(pk=event.pk).update(actor_label="x"), id="qs-update"),
        pytest.param(lambda event: Event.objects.filter(pk=event.pk).delete(), id="qs-delete"),
        pytest.param(lambda event: event.delete(), id="instance-delete"),
        pytest.param(lambda event: Event.objects.bulk_update([event], ["actor_label"]), id="bulk-update"),
        pytest.param(lambda event: Event.objects.filter(pk=-1).update(action="read"), id="update-of-no-row"),
    ],
)
def test_the_application_cannot_edit_or_delete_an_event_through_the_orm(db, tamper):
    event = make_event()
    event.actor_label = "someone else"

    with pytest.raises(ProgrammingError, match=APPEND_ONLY), transaction.atomic():
        tamper(event)

    assert Event.objects.get(pk=event.pk).actor_label == "system"


def test_saving_an_event_again_is_refused(db):
    event = make_event()
    event.action = Action.DELETE

    with pytest.raises(ProgrammingError, match=f"{APPEND_ONLY}: UPDATE refused"), transaction.atomic():
        event.save()


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_event SET actor_label = 'x'", "DELETE FROM audit_event", "UPDATE audit_event SET seq = seq"],
)
def test_the_application_cannot_edit_or_delete_an_event_with_raw_sql(db, sql):
    make_event()

    with pytest.raises(ProgrammingError, match=APPEND_ONLY), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)

    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_truncate_is_refused_to_a_session_without_the_test_switch():
    make_event()

    with raw_connection() as raw, pytest.raises(psycopg.errors.InsufficientPrivilege, match=APPEND_ONLY):
        raw.execute("TRUNCATE audit_event")

    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_test_sessions_may_truncate_so_flushes_between_tests_work():
    make_event()

    with connection.cursor() as cursor:
        cursor.execute("SHOW spinezone.audit_truncate")
        assert cursor.fetchone() == ("on",)
        cursor.execute("TRUNCATE audit_event")

    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_trigger_finds_the_head_by_index_even_when_planned_on_an_empty_table():
    # A connection that plans the head lookup while audit_event is analysed as empty keeps that plan:
    # a sequential scan per inserted row would make a bulk insert quadratic (seen at scale).
    with raw_connection() as raw:
        raw.execute("SET spinezone.audit_truncate = on")
        raw.execute("TRUNCATE audit_event")
        raw.execute("ANALYZE audit_event")
        insert = (
            "INSERT INTO audit_event (occurred_at, action, actor_label, object_type, object_id, channel, request_id)"
            " SELECT now(), 'create', 'bulk', 'programs.trainingsession', g::text, 'web', ''"
            " FROM generate_series(1, %s) AS g"
        )
        scans = "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'audit_event'"
        with raw.transaction():
            raw.execute(insert, [20])  # plans the trigger's statements for this connection
            seq_before, index_before = raw.execute(scans).fetchone()
            raw.execute(insert, [100])
            seq_after, index_after = raw.execute(scans).fetchone()

    assert (seq_after - seq_before, index_after - index_before) == (0, 100)  # one index probe a row, no scan
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 121))


# --- The chain ------------------------------------------------------------------------------------


def test_the_trigger_and_python_serialise_every_kind_of_field_alike(db, clinician_a, patient_a):
    """Every insert path, NULLs, non-ASCII and separator characters, IPv4, IPv6, a non-UTC time."""
    make_event(actor_label="", object_id="", channel="", ip_address=None)  # every nullable field NULL
    make_event(
        occurred_at=datetime(2026, 7, 1, 10, 30, 0, 7, tzinfo=ZoneInfo("Europe/London")),
        actor=clinician_a,
        actor_label="Zoë 山田 ☃ |2:x| -",
        organization_id=patient_a.organization_id,
        clinic_id=patient_a.clinic_id,
        patient_id=patient_a.pk,
        object_id="a|b:c\nd",
        request_id="req-1",
        ip_address="2001:DB8:0:0::1",
    )
    make_event(ip_address="::ffff:192.0.2.1")
    Event.objects.bulk_create([Event(action="read", actor_label="bulk", object_type="t", object_id=n) for n in "12"])
    events.record_reads(objs=[patient_a], actor=clinician_a)
    events.record_row_reads(
        object_type="patients.patient",
        rows=[(patient_a.pk, Subject(patient_a.organization_id, patient_a.clinic_id, patient_a.pk))] * 3,
        actor=clinician_a,
    )

    rows = list(Event.objects.order_by("seq").values_list(*chain.FIELDS, "hash"))
    assert [row[0] for row in rows] == list(range(1, 10))
    prev = chain.GENESIS
    for row in rows:
        assert chain.digest(prev, row[:-1]) == row[-1], row
        prev = row[-1]
    assert Event.objects.get(actor_label__startswith="Zoë").ip_address == "2001:db8::1"


def test_the_serialisation_is_length_prefixed_utf8(db):
    when = datetime(2026, 1, 31, 9, 5, 0, 123, tzinfo=UTC)

    assert chain.canonical("p", [None, 7, when, "Zoë|", uuid.UUID(int=1)]) == (
        "p|-|1:7|27:2026-01-31T09:05:00.000123Z|5:Zoë||36:00000000-0000-0000-0000-000000000001".encode()
    )


def test_a_saved_event_comes_back_with_its_hash(db):
    event = make_event()

    assert event.hash == Event.objects.get(pk=event.pk).hash
    assert len(event.hash) == 64


def test_a_rolled_back_event_leaves_no_gap(db):
    make_event()
    try:
        with transaction.atomic():
            make_event()
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    make_event()

    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2]
    assert chain.verify().intact


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_make_one_unbroken_chain():
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait(timeout=10)
            for batch in range(5):
                with transaction.atomic():
                    make_event(object_id=f"{worker}-{batch}")
                    Event.objects.bulk_create(
                        [Event(action="read", actor_label="bulk", object_type="t", object_id=f"{worker}") for _ in "ab"]
                    )
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not failures
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 46))
    assert verify_output().startswith("45 events, chain intact")


# --- The verifier ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_intact_chain_verifies(chain_of_four):
    head = chain_of_four[-1]

    assert verify_output() == f"4 events, chain intact (head: seq 4, hash {head.hash}).\n"


@pytest.mark.django_db(transaction=True)
def test_an_empty_trail_verifies():
    assert verify_output().startswith("0 events, chain intact")


def broken_at(event: Event) -> str:
    return f"Audit chain broken at event {event.pk} ({event.occurred_at:%Y-%m-%d %H:%M:%S.%f} UTC, seq {event.seq}): "


def verify_failure() -> CommandError:
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    assert failure.value.returncode == 1
    return failure.value


@pytest.mark.parametrize("switch_off", ["replica", "disable-trigger"])
def test_an_event_edited_behind_the_triggers_is_named(chain_of_four, switch_off):
    second = chain_of_four[1]
    with raw_connection(behind_the_triggers=switch_off == "replica") as raw:
        if switch_off == "disable-trigger":
            raw.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
        raw.execute("UPDATE audit_event SET actor_label = 'nobody' WHERE id = %s", [second.pk])
        if switch_off == "disable-trigger":
            raw.execute("ALTER TABLE audit_event ENABLE TRIGGER USER")

    message = str(verify_failure())

    assert message.startswith(broken_at(second) + "its hash does not match its fields")
    assert message.endswith("1 broken of 4 events in the chain.")


def test_an_edit_that_also_rewrites_the_hash_breaks_the_next_link(chain_of_four):
    second, third = chain_of_four[1], chain_of_four[2]
    values = list(Event.objects.values_list(*chain.FIELDS).get(pk=second.pk))
    values[chain.FIELDS.index("actor_label")] = "nobody"
    forged = chain.digest(chain_of_four[0].hash, values)
    with raw_connection(behind_the_triggers=True) as raw:
        raw.execute("UPDATE audit_event SET actor_label = 'nobody', hash = %s WHERE id = %s", [forged, second.pk])

    assert str(verify_failure()).startswith(broken_at(third) + "its hash does not match")


def test_a_deleted_event_is_named_as_a_gap(chain_of_four):
    with raw_connection(behind_the_triggers=True) as raw:
        raw.execute("DELETE FROM audit_event WHERE id = %s", [chain_of_four[1].pk])

    message = str(verify_failure())

    assert message.startswith(broken_at(chain_of_four[2]) + "the events before it (seq 2) are missing: deleted")
    assert message.endswith("1 broken of 3 events in the chain.")


def test_a_row_inserted_behind_the_trigger_is_named(chain_of_four):
    with raw_connection(behind_the_triggers=True) as raw:
        forged_id = raw.execute(
            "INSERT INTO audit_event (occurred_at, action, actor_label, object_type, object_id, channel, request_id) "
            "VALUES (now(), 'read', 'ghost', 'patients.patient', '1', 'ui', '') RETURNING id"
        ).fetchone()[0]
    forged = Event.objects.get(pk=forged_id)

    message = str(verify_failure())

    assert message.startswith(
        f"Audit chain broken at event {forged_id} ({forged.occurred_at:%Y-%m-%d %H:%M:%S.%f} UTC, "
        "no place in the chain): it is not in the chain"
    )


def test_a_row_inserted_behind_the_trigger_with_a_made_up_place_is_named(chain_of_four):
    with raw_connection(behind_the_triggers=True) as raw:
        raw.execute(
            "INSERT INTO audit_event (occurred_at, action, actor_label, object_type, object_id, channel, request_id, "
            "seq, hash) VALUES (now(), 'read', 'ghost', 'patients.patient', '1', 'ui', '', 5, %s)",
            [chain_of_four[-1].hash],
        )
    forged = Event.objects.get(seq=5)
    make_event()  # the application goes on writing after it: the chain continues from the forged row

    assert str(verify_failure()).startswith(broken_at(forged) + "its hash does not match")


def test_only_the_first_breaks_are_listed_and_the_rest_counted(chain_of_four, monkeypatch):
    monkeypatch.setattr(chain, "MAX_LISTED", 2)
    with raw_connection(behind_the_triggers=True) as raw:
        raw.execute("UPDATE audit_event SET channel = 'x'")

    lines = str(verify_failure()).splitlines()

    assert lines[0].startswith(broken_at(chain_of_four[0]))
    assert lines[1].startswith(f"  also event {chain_of_four[1].pk} ")
    assert lines[2:] == ["  ... 2 more.", "4 broken of 4 events in the chain."]


def test_the_verifier_reads_in_bounded_chunks(chain_of_four):
    with raw_connection(behind_the_triggers=True) as raw:
        raw.execute("UPDATE audit_event SET channel = 'x' WHERE id = %s", [chain_of_four[3].pk])

    with pytest.raises(CommandError, match=f"event {chain_of_four[3].pk} "):
        call_command("audit_verify", "--chunk-size", "1")


def test_an_anchor_catches_a_chain_cut_short_at_its_end(chain_of_four):
    head = chain_of_four[-1]
    with raw_connection(behind_the_triggers=True) as raw:
        raw.execute("DELETE FROM audit_event WHERE id = %s", [head.pk])
    assert verify_output().startswith("3 events, chain intact")  # a cut end alone is invisible

    with pytest.raises(CommandError, match="The anchored event seq 4 is gone"):
        call_command("audit_verify", "--anchor", f"4:{head.hash}")


def test_a_matching_anchor_verifies(chain_of_four):
    out = StringIO()
    call_command("audit_verify", "--anchor", f"2:{chain_of_four[1].hash}", stdout=out)

    assert out.getvalue().startswith("4 events, chain intact")


def test_tamper_evidence_needs_postgresql(db, monkeypatch):
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")

    with pytest.raises(CommandError, match="Tamper evidence needs PostgreSQL"):
        call_command("audit_verify")
