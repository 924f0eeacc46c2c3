"""The gap list in the portal: a guide search answered without confidence is recorded (redacted,
no names) and a manager's page groups the questions and marks a group added to the guide."""

from __future__ import annotations

from sqlalchemy import select

from mash.models import AuditEntry, QuestionGap

NOT_COVERED = "Can Jamie Smith's foster carer take him abroad on holiday?"


def _gaps(context) -> list[QuestionGap]:
    with context.sessions() as session:
        return list(session.execute(select(QuestionGap).order_by(QuestionGap.id)).scalars())


def test_a_search_the_guide_may_not_answer_is_recorded_without_names(as_user, context):
    client, _ = as_user("oakfield_dsl")
    page = client.get("/guidance/search", params={"q": NOT_COVERED}).text
    assert "The guide may not cover this." in page and "0151 606 2008" in page
    api = client.get("/api/guidance/search", params={"q": "What is private fostering?"}).json()
    assert api["confident"] is True  # answered: not a gap
    rows = _gaps(context)
    assert [(r.text, r.role, r.topic) for r in rows] == [
        ("Can [name] [name] foster carer take him abroad on holiday?", "dsl",
         "section:private-fostering")]


def test_only_managers_see_the_gap_list(as_user):
    for key in ("oakfield_dsl", "duty", "admin"):
        client, _ = as_user(key)
        assert client.get("/dashboard/gaps").status_code == 403
        assert client.get("/api/gaps").status_code == 403


def test_a_manager_sees_the_groups_and_marks_one_added(as_user, context):
    dsl, _ = as_user("oakfield_dsl")
    dsl.get("/guidance/search", params={"q": NOT_COVERED})
    dsl.get("/guidance/search", params={"q": "can a foster carer take a looked after child abroad"})
    manager, token = as_user("manager")
    page = manager.get("/dashboard/gaps")
    assert page.status_code == 200
    assert "Can [name] [name] foster carer take him abroad on holiday?" in page.text
    assert "Jamie" not in page.text
    groups = manager.get("/api/gaps").json()
    topic = groups[0]["topic"]
    assert groups[0]["count"] >= 1 and groups[0]["added_section"] is None
    # A section the guide does not have is refused and changes nothing.
    refused = manager.post("/dashboard/gaps/added",
                           data={"topic": topic, "section": "no-such-section",
                                 "csrf_token": token})
    assert "no section" in refused.text
    assert all(r.added_section is None for r in _gaps(context))
    done = manager.post("/dashboard/gaps/added",
                        data={"topic": topic, "section": "private-fostering",
                              "csrf_token": token})
    assert "marked as added to the guide" in done.text
    assert 'href="/guidance/sections/private-fostering"' in done.text
    marked = [r for r in _gaps(context) if r.topic == topic]
    assert marked and all(r.added_section == "private-fostering" for r in marked)
    with context.sessions() as session:
        actions = set(session.execute(
            select(AuditEntry.action).where(AuditEntry.subject_type == "question_gaps")
        ).scalars())
    assert actions == {"gaps_read", "gaps_marked_added"}


def test_the_dashboard_counts_unanswered_questions(as_user):
    dsl, _ = as_user("oakfield_dsl")
    dsl.get("/guidance/search", params={"q": NOT_COVERED})
    manager, _ = as_user("manager")
    page = manager.get("/dashboard").text
    assert "questions the guide may not answer" in page and 'href="/dashboard/gaps"' in page
    csv_text = manager.get("/dashboard/figures.csv").text
    header, *_, last = csv_text.splitlines()
    # the levels columns came after it (issue 16), so the earlier columns keep their places
    assert header.endswith(",unanswered_questions,levels_compared,levels_agreed")
    assert last.split(",")[header.split(",").index("unanswered_questions")] == "1"
