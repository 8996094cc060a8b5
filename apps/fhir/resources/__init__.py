"""Resource builders, grouped by kind; import them from `apps.fhir.mapping`."""
