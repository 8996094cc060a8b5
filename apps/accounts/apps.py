from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Staff sign-in around django-allauth and django-axes, and the site's HTTP hardening."""

    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from apps.accounts import receivers  # noqa: F401
