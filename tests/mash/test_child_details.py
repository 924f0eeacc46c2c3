"""Reading a child's age and initials from a message, and comparing two messages' details."""

import pytest

from mash.child_details import ChildDetails, compare, read_all, read_child_details


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("bruise on the cheek of a 9-month-old", {9}),
        ("a 9 month old baby with a bruise", {9}),
        ("baby of 9 months, bruised ear", {9}),
        ("9/12 old, bruising L cheek", {9}),
        ("6/52 infant, torn frenulum", {1}),
        ("she is aged 7 and says dad hits her", {84}),
        ("7yo disclosed at school", {84}),
        ("a seven year old girl", {84}),
        ("the 14 yr old has gone missing", {168}),
        ("2 years old and 24 months old are one age", {24}),
        ("a baby with a bruise on his cheek", set()),
        ("ring 0151 606 2008 about it", set()),
    ],
)
def test_ages_are_read_in_the_ways_practitioners_write_them(text, ages):
    assert set(read_child_details(text).ages) == ages


@pytest.mark.parametrize(
    ("text", "initials"),
    [
        ("J.S. told me her dad hits her", {"JS"}),
        ("J. S. told me", {"JS"}),
        ("JS said her step-dad hit her", {"JS"}),
        ("child A has a bruise", {"A"}),
        ("Child B: she told me", {"B"}),
        ("a child I teach told me", set()),  # the pronoun, not initials
        ("pupil KT is scared to go home", {"KT"}),
        # the field's acronyms are not initials
        ("The GP and the DSL rang the MASH and the IFD", set()),
        ("NAI query, refer to CSC", set()),
        # a message in capitals has no bare initials to find
        ("HE SAID HIS DAD HITS HIM", set()),
    ],
)
def test_initials_are_read_and_acronyms_are_not(text, initials):
    assert set(read_child_details(text).initials) == initials


def test_compare_different_same_and_unknown():
    baby9 = read_child_details("9-month-old with a bruise")
    assert compare(read_child_details("the 9 month old again, bruise is bigger"), baby9) == "same"
    assert compare(read_child_details("a 3 year old with a burn"), baby9) == "different"
    assert compare(read_child_details("the baby I mentioned, the bruise"), baby9) == "unknown"
    assert compare(read_child_details("JS, 9 months"), ChildDetails()) == "unknown"
    js7 = read_child_details("JS (aged 7) says dad hits her")
    assert compare(read_child_details("KT, aged 7"), js7) == "different"  # other initials
    assert compare(read_child_details("JS again, aged 8"), js7) == "different"  # other age
    assert compare(read_child_details("JS told me more"), js7) == "same"
    year5 = read_child_details("a Year 5 boy")
    assert year5.school_years == {5} and read_child_details("a Y11 pupil").school_years == {11}
    assert compare(read_child_details("the Year 5 boy again"), year5) == "same"
    assert compare(read_child_details("a Year 4 girl"), year5) == "different"
    assert compare(read_child_details("he is aged 9"), year5) == "unknown"
    # an age no child in that school year could be
    assert compare(read_child_details("a 10-week-old with a bruise"),
                   read_child_details("A Year 6 boy says dad punched him")) == "different"
    assert compare(read_child_details("a 3 year old"), year5) == "different"
    assert compare(year5, read_child_details("the 15 yr old")) == "different"
    # a message about a baby and an older sibling is the same as itself
    family = read_child_details("the 4 month old has a bruise and her brother in Year 9 said so")
    assert compare(family, family) == "same"


def test_details_of_several_messages_are_read_together():
    both = read_all(["JS has a bruise", None, "she is aged 7"])
    assert both.initials == {"JS"} and both.ages == {84}
