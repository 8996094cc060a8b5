from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from apps.audit.denials import on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="apps.audit.login_failed")
