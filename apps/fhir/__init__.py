"""FHIR R4 view of the platform: model rows mapped to FHIR R4 JSON, validated against `fhir.resources.R4B` in the tests.

`apps.fhir.mapping` is the public surface (one function per resource, plus Bundle, OperationOutcome and
CapabilityStatement); `apps.fhir.codes` holds every code system, code and URL used.
"""
