"""FHIR R4 view of the platform: model rows mapped to validated `fhir.resources.R4B` objects.

`apps.fhir.mapping` is the public surface (one function per resource, plus Bundle, OperationOutcome,
CapabilityStatement and `to_json`); `apps.fhir.codes` holds every code system, code and URL used.
"""
