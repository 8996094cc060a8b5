"""What every staff page shares: sign-in, the clinic chosen in the session, clinic time.

The clinic is a working context, not a permission: every lookup still goes through the gate
(`apps.clinics.access`), so a stale or forged session value can only fall back to the picker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from apps.clinics.access import clinics_for_user, visible_clinic_ids
from apps.clinics.models import Clinic
from apps.outcomes.report import may_read_outcomes

SESSION_CLINIC = "web.clinic_id"


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A signed-in page. The content security policy is the site's (CONTENT_SECURITY_POLICY), and
    the second factor required of admins is checked before any view (apps.accounts)."""
    return login_required(view)


def remember_clinic(request: HttpRequest, clinic: Clinic) -> None:
    request.session[SESSION_CLINIC] = clinic.pk


def current_clinic(request: HttpRequest) -> Clinic | None:
    """The clinic picked in this session, if the user may still see it; the only one if they have one."""
    clinics = clinics_for_user(request.user)
    chosen = request.session.get(SESSION_CLINIC)
    clinic = clinics.filter(pk=chosen).first() if isinstance(chosen, int) else None
    if clinic is None:
        only = list(clinics[:2])
        clinic = only[0] if len(only) == 1 else None
        if clinic is not None:
            remember_clinic(request, clinic)
    return clinic


def may_switch_clinic(user: Any) -> bool:
    clinic_ids = visible_clinic_ids(user)
    return clinic_ids is None or len(clinic_ids) > 1


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    clinic: Clinic | None,
    local_to: Clinic | None = None,
) -> HttpResponse:
    """Render now, on the wall clock of `local_to` (else the working clinic): dates and form times
    on the page are that clinic's local time, as staff read them on the clinic's clocks."""
    # Both flags read the roles the gate remembers on the user: no query of their own (base.html's nav).
    user = request.user
    context = {
        "clinic": clinic,
        "may_switch_clinic": may_switch_clinic(user),
        "may_read_outcomes": may_read_outcomes(user),
        **context,
    }
    local = local_to or clinic
    if local is None:
        return render(request, template, context)
    with timezone.override(local.tzinfo):
        return render(request, template, context)


def pick_clinic_first(request: HttpRequest) -> HttpResponse:
    query = urlencode({"next": request.get_full_path()})
    return redirect(f"{reverse('web:clinic_picker')}?{query}")


def book_next_on_chart(program: Any) -> str:
    """The chart, opened on the "book next" offers of this program (where recording a session lands)."""
    return f"{reverse('web:chart', kwargs={'patient_id': program.patient_id})}?book={program.pk}#book-next"
