from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "apps.partners"
    verbose_name = "Partner systems"

    def ready(self) -> None:
        from apps.partners import (
            permissions,  # noqa: F401  (registers the role predicates)
            schema,  # noqa: F401  (registers the OpenAPI Bearer scheme)
        )
