from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def idle_minutes() -> int:
    return settings.SESSION_COOKIE_AGE // 60
