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
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 5  # with expected/decided
    assert 'role="img"' in page and "<desc" in page
    assert "sexual abuse" in page  # category bar label
    assert "<script" not in page.split("</head>")[1]  # no inline script anywhere in the body
    csv = client.get("/dashboard/figures.csv?weeks=4")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    header, *rows = csv.text.strip().splitlines()
    assert header.startswith("week_start,contacts,escalations,consultations")
    assert len(rows) == 4  # every week of the period, the quiet ones as zeros
    assert ",1,1,0," in rows[-1] and all(",0,0,0," in r for r in rows[:-1])
    assert client.get("/api/figures").json()[-1]["escalations"] == 1
    assert client.get("/api/figures.csv").text == client.get("/dashboard/figures.csv?weeks=12").text


def test_empty_period_still_draws(as_user):
    client, _ = as_user("admin")
    page = client.get("/dashboard?weeks=1")
    assert page.status_code == 200 and "No data in this period" in page.text


def test_weeks_out_of_range_is_a_clear_error(as_user):
    client, _ = as_user("manager")
    response = client.get("/dashboard?weeks=1000")
    assert response.status_code == 422 and "Please check: weeks" in response.text


def test_quiet_weeks_are_zeros_and_the_csv_columns_never_change(as_user, context, demo):
    """Issue 14: empty weeks were dropped (52 weeks drew one fat bar) and the CSV's columns
    followed whichever categories occurred."""
    client, _ = as_user("manager")
    quiet = client.get("/dashboard/figures.csv?weeks=52").text.splitlines()
    with context.sessions() as session:
        escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="portal", sender="portal-x",
                                     user_id=str(demo.people["oakfield_dsl"]),
                                     organisation_id=demo.organisations["oakfield"]),
            message_id="d-2", urgency="concern", categories=["neglect"], text="x",
        )
    busy = client.get("/dashboard/figures.csv?weeks=52").text.splitlines()
    assert quiet[0] == busy[0]  # the same columns, busy or not
    header = busy[0].split(",")
    pack = list(context.guidance.pack.lexicon.labels)
    assert [h.removeprefix("category_") for h in header if h.startswith("category_")] == pack
    assert [h for h in header if h.startswith("source_")] == [
        "source_school", "source_gp_practice", "source_mash", "source_agency", "source_unknown"]
    assert len(busy) == 53 and len(quiet) == 53  # a row for each of the 52 weeks
    last = dict(zip(header, busy[-1].split(","), strict=True))
    assert last["category_neglect"] == "1" and last["source_school"] == "1"
    others = [v for k, v in last.items() if k.startswith("category_") and k != "category_neglect"]
    assert others and set(others) == {"0"}
    assert len(client.get("/api/figures?weeks=52").json()) == 52
    page = client.get("/dashboard?weeks=52").text
    contacts = page.split('<desc id="contacts-d">', 1)[1].split("</desc>", 1)[0]
    assert contacts.count(";") == 51  # 52 weeks drawn, not one


def test_the_charts_name_their_units_and_read_at_phone_width(as_user):
    client, _ = as_user("manager")
    page = client.get("/dashboard?weeks=52").text
    assert ">Minutes (median)</text>" in page and ">Contacts</text>" in page
    # 15-unit text in a 420-unit drawing: about 12 px when the chart is 330 px wide.
    assert 'viewBox="0 0 420 ' in page and 'font-size="15"' in page
    times = page.split('<svg', 3)[2]
    week_labels = times.count('text-anchor="middle"')
    assert 5 <= week_labels <= 9  # thinned to fit, not 52 labels on top of each other
