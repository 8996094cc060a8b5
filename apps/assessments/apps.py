from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "apps.assessments"
    verbose_name = "Assessments"

    def ready(self) -> None:
        from apps.assessments import permissions  # noqa: F401  (registers the role predicates)
