from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "apps.programs"
    verbose_name = "Programs"

    def ready(self) -> None:
        from apps.programs import permissions, receivers  # noqa: F401  (role predicates; assessments' signals)
