import pytest

from mash.redact import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me on 07700 900123 please", "call me on [phone] please"),
        ("office (0151) 496-0000", "office [phone]"),
        ("intl +44 151 496 0000.", "intl [phone]."),
        ("mail jo.bloggs+x@school.example.org now", "mail [email] now"),
        ("born 12/03/2014", "born [date]"),
        ("DOB 2014-03-12", "DOB [date]"),
        ("born on the 3rd of March 2015", "born on the [date]"),
        ("born March 3, 2015", "born [date]"),
        ("lives at CH41 1AA", "lives at [postcode]"),
        ("lives at ch441aa", "lives at [postcode]"),
    ],
)
def test_redacts_identifiers(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "she is 12 and in year 7",
        "it happened 3 times since 2019",
        "room 101, level 3 of 4",
    ],
)
def test_leaves_ordinary_numbers(text):
    assert redact(text) == text
