from django.contrib.admin.apps import AdminConfig


class SpineZoneAdminConfig(AdminConfig):
    """django.contrib.admin with our site: autocomplete answers are audited."""

    default_site = "apps.clinics.admin_base.SpineZoneAdminSite"
