from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "apps.clinics"
    verbose_name = "Clinics"

    def ready(self) -> None:
        from apps.clinics import permissions  # noqa: F401  (registers the role predicates)
