"""A section's markdown as quotable passages (markdown-it-py's CommonMark parse) and chosen
passages rendered as an answer, a list as a list."""

from __future__ import annotations

from guidance.passages import join_rendered, list_of, plain_text, render, split_passages

BODY = """The front door triages **every** request. It decides within one working day.

When you refer, include:
- the child's name and age;
- what you saw, in *your own* words; and
- what you have done.

Also note:

- a list after a blank line
- second item

Prose again.

- a list with no lead-in
"""


def _texts(passages) -> list[tuple[str, int | None, str | None, bool]]:
    return [(p.text, p.list_id, p.lead, p.first_in_paragraph) for p in passages]


def test_sentences_lead_ins_and_bullets_in_guide_order() -> None:
    passages = split_passages(BODY)
    lead = "When you refer, include:"
    assert _texts(passages) == [
        ("The front door triages every request.", None, None, True),  # emphasis dropped
        ("It decides within one working day.", None, None, False),
        (lead, None, None, True),
        ("the child's name and age;", 1, lead, False),
        ("what you saw, in your own words; and", 1, lead, False),
        ("what you have done.", 1, lead, False),
        ("Also note:", None, None, True),
        # A lead-in keeps its list across a blank line; the first bullet starts a block.
        ("a list after a blank line", 2, "Also note:", True),
        ("second item", 2, "Also note:", False),
        ("Prose again.", None, None, True),
        ("a list with no lead-in", 3, None, True),
    ]
    assert passages[2].is_lead and not passages[0].is_lead
    assert [p.text for p in list_of(passages, passages[2])] == [
        "the child's name and age;", "what you saw, in your own words; and",
        "what you have done."]


def test_a_wrapped_bullet_is_one_passage_and_nested_bullets_join_their_list() -> None:
    body = "Signs include:\n- bruising on\n  a baby\n- changes:\n  - sudden\n  - lasting\n"
    passages = split_passages(body)
    assert [(p.text, p.list_id) for p in passages[1:]] == [
        ("bruising on a baby", 1), ("changes:", 1), ("sudden", 1), ("lasting", 1)]


def test_a_lead_in_is_rendered_with_its_list_as_a_list() -> None:
    passages = split_passages(BODY)
    chosen = [passages[1], *passages[3:6]]  # a sentence and the whole list (with its lead)
    assert render(chosen) == (
        "It decides within one working day. When you refer, include:\n"
        "- the child's name and age\n"
        "- what you saw, in your own words\n"
        "- what you have done"
    )
    assert render([passages[10], passages[0]]) == (
        "- a list with no lead-in\nThe front door triages every request.")


def test_rendered_pieces_join_on_new_lines_only_around_lists() -> None:
    assert join_rendered(["One.", "Two."]) == "One. Two."
    assert join_rendered(["Lead:\n- a", "Next."]) == "Lead:\n- a\nNext."
    assert join_rendered(["", "Only."]) == "Only."


def test_plain_text_drops_markup() -> None:
    assert plain_text("**Bold** and `code`\n\n- item one\n- item two") == (
        "Bold and code item one item two")
