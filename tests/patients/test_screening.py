from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.patients.screening import (
    CERVICAL_ITEMS,
    CLEAR,
    ITEMS_BY_REGION,
    LUMBAR_ITEMS,
    REFER,
    IncompleteScreen,
    positive_items,
    screen_problems,
    screen_result,
)

LUMBAR_CLEAR = dict.fromkeys(LUMBAR_ITEMS, False)
CERVICAL_CLEAR = dict.fromkeys(CERVICAL_ITEMS, False)


@pytest.mark.parametrize(
    ("region", "answers", "result"),
    [
        ("lumbar", LUMBAR_CLEAR, CLEAR),
        ("lumbar", {**LUMBAR_CLEAR, "major_trauma": True}, REFER),
        ("lumbar", {**LUMBAR_CLEAR, "bladder_dysfunction": True}, REFER),
        ("lumbar", dict.fromkeys(LUMBAR_ITEMS, True), REFER),
        ("cervical", CERVICAL_CLEAR, CLEAR),
        ("cervical", {**CERVICAL_CLEAR, "drop_attacks": True}, REFER),
        ("cervical", {**CERVICAL_CLEAR, "upper_cervical_instability": True}, REFER),
    ],
)
def test_screen_result_is_refer_on_any_positive_item(region, answers, result):
    assert screen_problems(region, answers) == []
    assert screen_result(region, answers) == result


@pytest.mark.parametrize(
    ("region", "answers", "problems"),
    [
        ("thoracic", LUMBAR_CLEAR, ["Unknown region 'thoracic': use lumbar or cervical."]),
        ("Lumbar", LUMBAR_CLEAR, ["Unknown region 'Lumbar': use lumbar or cervical."]),
        (
            "lumbar",
            {code: False for code in LUMBAR_ITEMS if code != "major_trauma"},
            ["major_trauma: not answered."],
        ),
        ("lumbar", {**LUMBAR_CLEAR, "drop_attacks": True}, ["drop_attacks: not an item of the lumbar screen."]),
        ("lumbar", {**LUMBAR_CLEAR, "major_trauma": "yes"}, ["major_trauma: answer yes or no."]),
        ("lumbar", {**LUMBAR_CLEAR, "major_trauma": 1}, ["major_trauma: answer yes or no."]),
        ("lumbar", {**LUMBAR_CLEAR, "major_trauma": None}, ["major_trauma: answer yes or no."]),
        ("cervical", {}, [f"{code}: not answered." for code in CERVICAL_ITEMS]),
    ],
)
def test_screen_problems_names_each_problem(region, answers, problems):
    assert screen_problems(region, answers) == problems
    with pytest.raises(IncompleteScreen):
        screen_result(region, answers)


def test_an_incomplete_screen_is_never_read_as_clear():
    # A blank form would otherwise pass: no positive item among no answers.
    with pytest.raises(IncompleteScreen, match="not answered"):
        screen_result("lumbar", {})


def test_the_regions_have_distinct_items():
    assert set(ITEMS_BY_REGION) == {"lumbar", "cervical"}
    assert not set(LUMBAR_ITEMS) & set(CERVICAL_ITEMS)


@pytest.mark.parametrize(
    ("answers", "positive"),
    [
        (LUMBAR_CLEAR, []),
        ({**LUMBAR_CLEAR, "saddle_anaesthesia": True, "major_trauma": True}, ["major_trauma", "saddle_anaesthesia"]),
    ],
)
def test_positive_items_lists_the_positive_codes_in_order(answers, positive):
    assert positive_items(answers) == positive


@given(region=st.sampled_from(sorted(ITEMS_BY_REGION)), data=st.data())
def test_every_complete_screen_is_refer_exactly_when_an_item_is_positive(region, data):
    items = ITEMS_BY_REGION[region]
    answers = data.draw(st.fixed_dictionaries({code: st.booleans() for code in items}))

    expected = REFER if any(answers.values()) else CLEAR
    assert screen_result(region, answers) == expected
