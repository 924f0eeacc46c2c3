"""The managers' dashboard: SVG charts (pictures), the table and the CSV export."""

from __future__ import annotations

from mash import escalations
from mash.access import ChannelIdentity


def test_dashboard_draws_svg_charts_and_exports_csv(as_user, context, demo):
    with context.sessions() as session:
        escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="portal", sender="portal-x",
                                     user_id=str(demo.people["oakfield_dsl"]),
                                     organisation_id=demo.organisations["oakfield"]),
            message_id="d-1", urgency="immediate", categories=["sexual_abuse", "online"],
            text="x",
        )
    client, _ = as_user("manager")
    page = client.get("/dashboard").text
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert 'role="img"' in page and "<desc" in page
    assert "sexual abuse" in page  # category bar label
    assert "<script" not in page.split("</head>")[1]  # no inline script anywhere in the body
    csv = client.get("/dashboard/figures.csv?weeks=4")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    header, row = csv.text.strip().splitlines()
    assert header.startswith("week_start,contacts,escalations,consultations")
    assert ",1,1,0," in row
    assert client.get("/api/figures").json()[0]["escalations"] == 1
    assert client.get("/api/figures.csv").text == client.get("/dashboard/figures.csv?weeks=12").text


def test_empty_period_still_draws(as_user):
    client, _ = as_user("admin")
    page = client.get("/dashboard?weeks=1")
    assert page.status_code == 200 and "No data in this period" in page.text


def test_weeks_out_of_range_is_a_clear_error(as_user):
    client, _ = as_user("manager")
    response = client.get("/dashboard?weeks=1000")
    assert response.status_code == 422 and "Please check: weeks" in response.text
