from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "apps.outcomes"
    verbose_name = "Outcomes"

    def ready(self) -> None:
        from apps.outcomes import receivers  # noqa: F401  (programs' and assessments' signals)
