# syntax=docker/dockerfile:1
# SpineZone: one image for every process (see docker-compose.yml): web (gunicorn, the default command),
# the Celery worker and beat, and the one-shot `manage.py migrate`. Configuration comes only from the
# environment at run time (see .env.example); nothing secret is baked in.
FROM python:3.11-slim

# WEB_CONCURRENCY is gunicorn's own worker count: override it in the environment to fit the host.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    WEB_CONCURRENCY=3

WORKDIR /app

# The processes run as this user. The code stays root-owned (read-only to them); only /app/var
# (static files, beat's schedule, the embedded default's files) is theirs to write.
RUN groupadd --system --gid 10001 spinezone \
    && useradd --system --uid 10001 --gid spinezone --create-home --home-dir /home/spinezone \
       --shell /usr/sbin/nologin spinezone

# WeasyPrint (the progress report's PDF, apps/outcomes/pdf.py) needs Pango and a font: the slim image has neither.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them. Every pin is exact; all are wheels.
COPY requirements.txt ./
RUN python -m pip install -r requirements.txt

COPY . .
RUN install -d -o spinezone -g spinezone /app/var

USER spinezone

# Static files are collected into the image (STATIC_ROOT = /app/var/static) and served by WhiteNoise.
# DEBUG off selects the compressed, hashed-name storage. The key is a dummy that exists only for
# this step: it is not an ENV, so it is neither in the image's configuration nor in the running app.
RUN DEBUG=false \
    SECRET_KEY=build-time-only-dummy-key-for-collectstatic-not-used-at-run-time-0000 \
    python manage.py collectstatic --noinput

EXPOSE 8000

# The slim image has no curl: probe /health/ with urllib. The Host header is the first usable
# ALLOWED_HOSTS entry (Django answers 400 to any other host). X-Forwarded-Proto: https, which gunicorn
# trusts from 127.0.0.1 only, keeps SECURE_SSL_REDIRECT from answering 301; a redirect would count as
# unhealthy rather than be followed out of the container. Any answer but 200 exits non-zero.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h = next((x.strip().lstrip('.') for x in os.environ.get('ALLOWED_HOSTS', 'localhost').split(',') if x.strip() not in ('', '*')), 'localhost'); o = u.build_opener(type('NoRedirect', (u.HTTPRedirectHandler,), {'redirect_request': lambda *a: None})); o.open(u.Request('http://127.0.0.1:8000/health/', headers={'Host': h, 'X-Forwarded-Proto': 'https', 'Accept': 'application/json'}), timeout=5)"]

CMD ["gunicorn", "spinezone.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--error-logfile", "-"]
