"""Settings of the Celery worker processes the reminder tests start (tests/reminders/support.py).

The test settings, with real SMTP (EMAIL_URL points at the test's aiosmtpd server) and short leases
and delays, so a worker killed mid-send is recovered, and a 451 retried, within seconds.
"""

from tests.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
REMINDER_SEND_LEASE_SECONDS = 3
# A batch stops taking ids well inside the short lease (production: 60 s inside 600 s), so a slow
# machine cannot let a live worker's claim expire (a due email now looks up its free slots).
REMINDER_SEND_BATCH_SECONDS = 1
REMINDER_RETRY_BASE_SECONDS = 0.5
REMINDER_RETRY_CAP_SECONDS = 2
