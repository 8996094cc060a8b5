"""Organization, Location (clinic), Patient and Device (machine): administrative data only, nothing clinical."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from apps.fhir import codes
from apps.fhir.resources.base import Json, checked, compact, concept, iso, meta, reference

if TYPE_CHECKING:
    from apps.clinics import models as clinic_models
    from apps.patients import models as patient_models

LANGUAGE_NAMES = dict(settings.LANGUAGES)


def organization_resource(org: clinic_models.Organization) -> Json:
    """The tenant. No `meta.lastUpdated`: organizations have no update timestamp."""
    return compact(
        {
            "resourceType": "Organization",
            "id": str(org.pk),
            "identifier": [{"system": codes.ORGANIZATION_ID_SYSTEM, "value": org.slug}],
            "active": True,
            "name": org.name,
        }
    )


def _address(clinic: clinic_models.Clinic) -> Json | None:
    address = compact(
        {
            "use": "work",
            "type": "physical",
            "line": [clinic.address_line] if clinic.address_line else None,
            "city": clinic.city,
            "postalCode": clinic.postal_code,
            "country": clinic.country,
        }
    )
    return address if len(address) > 2 else None  # only use/type: no address recorded


def location_resource(clinic: clinic_models.Clinic) -> Json:
    """A clinic site. The IANA time zone is the HL7 `timezone` extension (valueCode)."""
    return compact(
        {
            "resourceType": "Location",
            "id": str(clinic.pk),
            "meta": meta(clinic.updated_at),
            "extension": [{"url": codes.TIMEZONE_EXTENSION, "valueCode": clinic.timezone}],
            "status": checked("active" if clinic.is_active else "inactive", codes.LOCATION_STATUS, "Location.status"),
            "name": clinic.name,
            "mode": "instance",
            "telecom": [{"system": "phone", "value": clinic.phone, "use": "work"}] if clinic.phone else None,
            "address": _address(clinic),
            "managingOrganization": reference("Organization", clinic.organization_id),
        }
    )


# The columns `patient_resource` reads (`organization` for the MRN system's slug), for searches that
# load only those: nothing clinical, no consent or reminder state.
PATIENT_FIELDS = (
    "organization__slug",
    "clinic",
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "email",
    "phone",
    "preferred_language",
    "deceased_on",
    "deleted_at",
    "updated_at",
)


def _telecom(patient: patient_models.Patient) -> list[Json]:
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email, "use": "home"})
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    return telecom


def patient_resource(patient: patient_models.Patient) -> Json:
    """Demographics only (minimum necessary): no height, mass, consent, screening or scores.

    `gender` carries our sex-for-clinical-use value (same four codes as AdministrativeGender); the
    home clinic is a local extension (`generalPractitioner` cannot reference a Location). Needs
    `organization` (slug for the MRN system); use select_related("organization") in lists.
    """
    language = patient.preferred_language
    return compact(
        {
            "resourceType": "Patient",
            "id": str(patient.pk),
            "meta": meta(patient.updated_at),
            "extension": [
                {"url": codes.HOME_CLINIC_EXTENSION, "valueReference": reference("Location", patient.clinic_id)}
            ],
            "identifier": [
                {
                    "use": "usual",
                    "type": {
                        "coding": [
                            {"system": codes.V2_IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}
                        ]
                    },
                    "system": codes.mrn_system(patient.organization.slug),
                    "value": patient.mrn,
                    "assigner": reference("Organization", patient.organization_id),
                }
            ],
            "active": patient.deleted_at is None,
            "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
            "telecom": _telecom(patient),
            "gender": checked(patient.sex, codes.ADMINISTRATIVE_GENDER, "Patient.gender"),
            "birthDate": iso(patient.birth_date),
            "deceasedDateTime": iso(patient.deceased_on),
            "communication": [
                {
                    "language": {
                        "coding": [{"system": codes.BCP47, "code": language}],
                        "text": str(LANGUAGE_NAMES.get(language, language)),
                    },
                    "preferred": True,
                }
            ]
            if language
            else None,
            "managingOrganization": reference("Organization", patient.organization_id),
        }
    )


# The columns `device_resource` reads, for the searches that load only those.
DEVICE_FIELDS = ("clinic__organization", "kind", "name", "serial_number", "is_active")


def device_resource(machine: clinic_models.Machine) -> Json:
    """A clinic's extension machine: its serial number, name and kind; owned by the organization, at the
    clinic. No `meta.lastUpdated`: machines have no update timestamp. Needs `clinic` (its organization).
    """
    kind, kind_label = machine.kind.replace("_", "-"), machine.get_kind_display()
    return compact(
        {
            "resourceType": "Device",
            "id": str(machine.pk),
            "identifier": [
                {
                    "type": concept(codes.V2_IDENTIFIER_TYPE, "SNO", "Serial Number"),
                    "system": codes.MACHINE_SERIAL_SYSTEM,
                    "value": machine.serial_number,
                }
            ],
            "status": checked("active" if machine.is_active else "inactive", codes.DEVICE_STATUS, "Device.status"),
            "serialNumber": machine.serial_number,
            "deviceName": [
                {"name": machine.name, "type": checked("user-friendly-name", codes.DEVICE_NAME_TYPE, "deviceName.type")}
            ],
            "type": concept(codes.MACHINE_KIND_SYSTEM, kind, kind_label, text=kind_label),
            "owner": reference("Organization", machine.clinic.organization_id),
            "location": reference("Location", machine.clinic_id),
        }
    )
