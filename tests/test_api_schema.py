"""Schemathesis against the partner API's own schema, in-process over WSGI.

Every operation of /api/schema/ gets a bounded number of generated requests (fixed seed), each
sent with a read_write token of a clinic that holds a patient, a program with a session, a
strength test, a questionnaire and an open flag. The checks: no server error, and every response
(status code, content type, headers, body) is one the schema documents.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.programs.models import Flag, FlagKind
from tests import factories
from tests.partners.fixtures import issue_token, partner_a  # noqa: F401

# Deliberately not run:
# - positive_data_acceptance: a schema-valid POST naming a patient, machine or program that does not
#   exist (or is outside the token's clinics) is rightly answered 400/404; the schema cannot say
#   which ids exist.
# - ignored_auth: it needs requests without our token; authentication is covered request by request
#   in tests/partners/test_authentication.py.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # The raw WSGI handler fires request_started/finished, whose close_old_connections would close
    # the test transaction's connection on PostgreSQL; Django's test client disconnects it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(clinic_a, partner_a, issue_token):  # noqa: F811
    patient = factories.PatientFactory(clinic=clinic_a)
    program = factories.ProgramFactory(patient=patient)
    factories.TrainingSessionFactory(program=program)
    factories.StrengthTestFactory(patient=patient)
    factories.QuestionnaireResponseFactory(patient=patient)
    Flag.objects.create(
        patient=patient, program=program, kind=FlagKind.PAIN_FLARE, reason="r", opened_at=timezone.now()
    )
    return issue_token(partner_a, "read_write")


# Loaded once at collection: serving the schema touches no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
