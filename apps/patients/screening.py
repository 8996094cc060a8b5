"""The red-flag screen: items per region and the result, as pure functions.

Items follow research §4.1: AHCPR Clinical Practice Guideline 14 for the low back [S60] and the
cervical red flags of [S61]. Any positive item means `refer`: no testing or training until a
physician review clears it.

`screen_problems` lists what is wrong with the answers (that is its answer); an argument no screen could
mean (a region that is not text, answers that are not a mapping) raises RuleArgumentError, and so does
`screen_result` for any problem (IncompleteScreen is one).
"""

from __future__ import annotations

from collections.abc import Mapping

from apps.clinics import arguments as check
from apps.clinics.arguments import RuleArgumentError

CLEAR = "clear"
REFER = "refer"

LUMBAR_ITEMS: dict[str, str] = {
    "major_trauma": "Possible fracture: major trauma",
    "minor_trauma_older_or_osteoporotic": (
        "Possible fracture: minor trauma or strenuous lifting in an older or osteoporotic patient"
    ),
    "age_over_50_or_under_20": "Possible tumour or infection: age over 50 or under 20",
    "history_of_cancer": "Possible tumour or infection: history of cancer",
    "fever_chills_weight_loss": "Possible tumour or infection: fever, chills or unexplained weight loss",
    "infection_risk_factors": ("Possible infection: recent bacterial infection, IV drug use or immune suppression"),
    "supine_or_night_pain": "Possible tumour or infection: pain worse when supine, severe night pain",
    "saddle_anaesthesia": "Possible cauda equina: saddle anaesthesia",
    "bladder_dysfunction": "Possible cauda equina: recent bladder dysfunction",
    "progressive_neurological_deficit": "Possible cauda equina: severe or progressive neurological deficit in the legs",
    "sphincter_or_motor_signs": (
        "Possible cauda equina: lax anal sphincter, perianal sensory loss or major motor weakness"
    ),
}

CERVICAL_ITEMS: dict[str, str] = {
    "ataxia_or_gait_disturbance": "Ataxia or gait disturbance",
    "upper_motor_neuron_signs": "Clonus, positive Hoffmann/Babinski signs, hyperreflexia",
    "drop_attacks": "Drop attacks",
    "facial_paraesthesia": "Facial paraesthesia",
    "horners_sign": "Horner's sign",
    "fever_or_recent_illness": "Fever or recent illness",
    "ligament_instability_test": "Positive alar ligament or Sharp-Purser test",
    "bilateral_limb_symptoms": "Bilateral upper-limb plus lower-limb symptoms",
    "vertebral_artery_signs": "Signs of vertebral artery insufficiency (dizziness, dysphagia, dysarthria)",
    "upper_cervical_instability": "Signs of upper cervical instability",
}

ITEMS_BY_REGION: dict[str, dict[str, str]] = {"lumbar": LUMBAR_ITEMS, "cervical": CERVICAL_ITEMS}
ALL_ITEMS = LUMBAR_ITEMS.keys() | CERVICAL_ITEMS.keys()
ANSWERS = "item code to True or False"


class IncompleteScreen(RuleArgumentError):
    pass


def screen_problems(region: str, answers: Mapping[str, object]) -> list[str]:
    """What is wrong with a set of answers: unknown region, missing, unknown or non-yes/no items."""
    if not isinstance(region, str):
        raise RuleArgumentError(f"region must be lumbar or cervical; got {check.shown(region)}.")
    check.mapping(answers, "answers", ANSWERS)
    items = ITEMS_BY_REGION.get(region)
    if items is None:
        return [f"Unknown region {region!r}: use lumbar or cervical."]
    problems = [f"{code}: not answered." for code in items if code not in answers]
    problems += [f"{code}: not an item of the {region} screen." for code in answers if code not in items]
    problems += [f"{code}: answer yes or no." for code, value in answers.items() if not isinstance(value, bool)]
    return problems


def screen_result(region: str, answers: Mapping[str, bool]) -> str:
    problems = screen_problems(region, answers)
    if problems:
        raise IncompleteScreen("; ".join(problems))
    return REFER if any(answers.values()) else CLEAR


def positive_items(answers: Mapping[str, bool]) -> list[str]:
    """The codes answered yes; a value other than True or False is refused, never read as "yes"."""
    for code, value in check.mapping(answers, "answers", ANSWERS).items():
        if not isinstance(code, str) or code not in ALL_ITEMS:
            raise RuleArgumentError(f"answers: {check.shown(code)} is not an item of any screen.")
        check.flag(value, f"answers[{code!r}]")
    return sorted(code for code, value in answers.items() if value)
