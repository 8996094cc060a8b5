from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "apps.patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        from apps.patients import permissions  # noqa: F401  (registers the role predicates)
