from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "apps.outcomes"
    verbose_name = "Outcomes"

    def ready(self) -> None:
        from apps.outcomes import permissions, receivers  # noqa: F401  (role predicates; programs' and assessments' signals)
