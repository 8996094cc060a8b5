from django.db import connection


def test_the_suite_runs_on_postgresql(db):
    assert connection.vendor == "postgresql"


def test_every_model_change_has_its_migration(db):
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_celery_broker_is_the_local_redis_and_carries_a_message():
    from kombu import Connection, Exchange, Queue

    from spinezone.celery import app

    assert app.conf.broker_url.startswith("redis://127.0.0.1")
    queue = Queue("smoke-test", Exchange("smoke-test"), routing_key="smoke-test", auto_delete=True)
    with Connection(app.conf.broker_url) as connection:
        connection.ensure_connection(max_retries=1)
        simple = connection.SimpleQueue(queue)
        simple.put({"ping": 1})
        message = simple.get(timeout=5)
        message.ack()
        simple.close()
    assert message.payload == {"ping": 1}


def test_the_redis_cache_from_redis_url_stores_and_reads():
    from django.conf import settings
    from django.core.cache.backends.redis import RedisCache

    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "smoke-test"})
    cache.set("answer", 42, timeout=10)
    assert cache.get("answer") == 42
    cache.delete("answer")
