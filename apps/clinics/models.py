from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from apps.audit.subjects import Subject
from apps.clinics.validators import validate_iana_timezone


class Organization(models.Model):
    """The tenant: a clinic group. Every clinic, patient and record belongs to exactly one."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.pk, clinic_id=None, patient_id=None)


class Clinic(models.Model):
    """A site (FHIR Location). Due times and quiet hours are computed in its time zone."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(max_length=200)
    email_display_name = models.CharField(
        max_length=200, blank=True, help_text="Sender name on patient emails; the clinic name when blank."
    )
    reply_to_email = models.EmailField(blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")
    phone = models.CharField(max_length=40, blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_iana_timezone], help_text="IANA time zone.")
    quiet_hours_start = models.TimeField(default="21:00", help_text="No patient emails from this local time…")
    quiet_hours_end = models.TimeField(default="08:00", help_text="…until this local time.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="clinic_name_unique_in_organization"),
            models.CheckConstraint(condition=~Q(timezone=""), name="clinic_timezone_required"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.organization_id, clinic_id=self.pk, patient_id=None)

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def sender_name(self) -> str:
        return self.email_display_name or self.name


class MachineKind(models.TextChoices):
    LUMBAR_EXTENSION = "lumbar_extension", "Lumbar extension"
    CERVICAL_EXTENSION = "cervical_extension", "Cervical extension"


class LoadUnit(models.TextChoices):
    FOOT_POUND = "ft_lbf", "ft·lbf"
    INCH_POUND = "in_lbf", "in·lbf"


# Per DOMAIN.md: ROM limits, load unit, increment and standard test angles of each machine kind.
MACHINE_DEFAULTS: dict[str, dict] = {
    MachineKind.LUMBAR_EXTENSION: {
        "rom_min_deg": 0,
        "rom_max_deg": 72,
        "load_unit": LoadUnit.FOOT_POUND,
        "load_increment": Decimal("1"),
        "test_angles": [72, 60, 48, 36, 24, 12, 0],
    },
    MachineKind.CERVICAL_EXTENSION: {
        "rom_min_deg": 0,
        "rom_max_deg": 126,
        "load_unit": LoadUnit.INCH_POUND,
        "load_increment": Decimal("3"),
        "test_angles": [126, 108, 90, 72, 54, 36, 18, 0],
    },
}


class Machine(models.Model):
    """An extension machine (FHIR Device) at one clinic."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="machines")
    kind = models.CharField(max_length=24, choices=MachineKind.choices)
    name = models.CharField(max_length=100)
    serial_number = models.CharField(max_length=64)
    rom_min_deg = models.PositiveSmallIntegerField()
    rom_max_deg = models.PositiveSmallIntegerField()
    load_unit = models.CharField(max_length=8, choices=LoadUnit.choices)
    load_increment = models.DecimalField(
        max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    min_load = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    max_load = models.DecimalField(max_digits=7, decimal_places=2)
    test_angles = models.JSONField(help_text="Standard isometric test angles in degrees, highest first.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["clinic__name", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "serial_number"], name="machine_serial_unique_in_clinic"),
            models.CheckConstraint(condition=Q(rom_min_deg__lt=models.F("rom_max_deg")), name="machine_rom_ordered"),
            models.CheckConstraint(condition=Q(load_increment__gt=0), name="machine_increment_positive"),
            models.CheckConstraint(
                condition=Q(min_load__gte=0) & Q(min_load__lt=models.F("max_load")), name="machine_load_range_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.clinic})"

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.clinic.organization_id, clinic_id=self.clinic_id, patient_id=None)

    def clean(self) -> None:
        angles = self.test_angles
        if not isinstance(angles, list) or not angles or not all(type(a) is int for a in angles):
            raise ValidationError({"test_angles": "Give the test angles as a list of whole degrees."})
        if len(set(angles)) != len(angles):
            raise ValidationError({"test_angles": "A test angle is listed twice."})
        if self.rom_min_deg is not None and self.rom_max_deg is not None:
            outside = [a for a in angles if not self.rom_min_deg <= a <= self.rom_max_deg]
            if outside:
                raise ValidationError({"test_angles": f"Angles {outside} are outside the machine's range of motion."})
        if self.max_load is not None and self.load_increment and self.max_load % self.load_increment:
            raise ValidationError({"max_load": "The maximum load must be a multiple of the load increment."})
        # Stored in the order the test is performed: from the extension limit down.
        self.test_angles = sorted(angles, reverse=True)


class Role(models.TextChoices):
    PHYSICIAN = "physician", "Physician"
    PHYSICIAN_ASSISTANT = "physician_assistant", "Physician assistant"
    PHYSICAL_THERAPIST = "physical_therapist", "Physical therapist"
    EXERCISE_PHYSIOLOGIST = "exercise_physiologist", "Exercise physiologist"
    FRONT_DESK = "front_desk", "Front desk"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"


CLINICAL_ROLES = frozenset(
    {Role.PHYSICIAN, Role.PHYSICIAN_ASSISTANT, Role.PHYSICAL_THERAPIST, Role.EXERCISE_PHYSIOLOGIST}
)


class Membership(models.Model):
    """A staff member's role at one clinic. A user sees only the clinics they are a member of."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=24, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "clinic"], name="membership_unique_user_clinic")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.clinic}"

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.clinic.organization_id, clinic_id=self.clinic_id, patient_id=None)


class OrganizationAdmin(models.Model):
    """A user who administers every clinic of an organization."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organization_admins")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="admins")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="organization_admin_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — administrator of {self.organization}"

    def audit_subject(self) -> Subject:
        return Subject(organization_id=self.organization_id, clinic_id=None, patient_id=None)
