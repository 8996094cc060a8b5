from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "apps.reminders"
    verbose_name = "Reminders"

    def ready(self) -> None:
        from apps.reminders import permissions, receivers  # noqa: F401  (role predicates; scheduling's signals)
