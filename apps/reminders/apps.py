from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "apps.reminders"
    verbose_name = "Reminders"

    def ready(self) -> None:
        from apps.reminders import permissions  # noqa: F401  (registers the role predicates)
