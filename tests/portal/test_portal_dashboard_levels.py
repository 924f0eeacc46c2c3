"""Expected against decided on the dashboard (issue 16, part 1): the agreement matrix and the
tables by source agency and by category over known data, the commonest disagreements with
redacted examples (MASH staff only, audited), the weekly trend and the CSV."""

from __future__ import annotations

import csv
import html
import io
import re

from levels_seed import seed_levels
from sqlalchemy import select

from mash.models import AuditEntry


def cells(page: str, table_id: str) -> dict[str, list[str]]:
    """A table's rows by their header cell: {row header: [cell texts]}."""
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        header = re.search(r'<th scope="row">(.*?)</th>', row, re.S)
        if header:
            rows[html.unescape(header.group(1).strip())] = [
                html.unescape(c.strip()) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    return rows


def test_the_agreement_tables_over_known_data(as_user, context, demo):
    ids = seed_levels(context.sessions, demo)
    client, _ = as_user("manager")
    page = client.get("/dashboard?weeks=4").text
    assert "Expected against decided" in page
    assert "<strong>33%</strong> of 6 agreed." in page
    matrix = cells(page, "agreement-matrix")
    assert matrix["Level 2"] == ["0", "1", "2", "0"]
    assert matrix["Level 3"] == ["0", "0", "1", "1"]
    assert matrix["No level"] == ["0", "0", "0", "1"]
    by_source = cells(page, "by-source-title-table")
    # compared, agreed, higher, lower, no level expected, agreement
    assert by_source["School"] == ["4", "1", "3", "0", "0", "25%"]
    assert by_source["GP practice"] == ["2", "1", "0", "0", "1", "50%"]
    by_category = cells(page, "by-category-title-table")
    assert by_category["Neglect"] == ["4", "2", "2", "0", "0", "50%"]
    assert by_category["Physical abuse"] == ["2", "0", "1", "0", "1", "0%"]
    # The commonest disagreement first, with redacted examples, newest first.
    disagreements = page.split('class="disagreements"', 1)[1].split("</ol>", 1)[0]
    first = disagreements.split("<li>", 2)[1]
    assert "Level 2 expected, level 3 decided</strong>: 2 times" in first
    assert "07700" not in disagreements and "[phone]" in disagreements
    # The weekly trend: this week's row of the table and the chart's description.
    assert "2 / 6" in page.split('id="table-title"', 1)[1]
    assert "Agreed 2, Differed 4" in page
    with context.sessions() as session:
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.action == "escalation.list")
            .order_by(AuditEntry.id.desc())
        ).scalars().first()
    assert entry.detail["with_excerpts"] and set(entry.detail["ids"]) <= set(ids)


def test_an_administrator_sees_the_counts_and_no_case_text(as_user, context, demo):
    seed_levels(context.sessions, demo)
    client, _ = as_user("admin")
    page = client.get("/dashboard?weeks=4").text
    assert cells(page, "agreement-matrix")["Level 2"] == ["0", "1", "2", "0"]
    assert "Level 2 expected, level 3 decided</strong>: 2 times" in page
    assert "[phone]" not in page and "left alone" not in page


def test_the_agreement_csv(as_user, context, demo):
    seed_levels(context.sessions, demo)
    client, _ = as_user("manager")
    response = client.get("/dashboard/agreement.csv?weeks=4")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    counts = {(r["table"], r["group"], r["expected_level"], r["decided_level"]): r["count"]
              for r in rows}
    assert counts[("overall", "all", "2", "3")] == "2"
    assert counts[("source", "gp_practice", "", "4")] == "1"
    assert counts[("source", "agency", "1", "1")] == "0"
    assert counts[("category", "physical_abuse", "3", "4")] == "1"
    assert "left alone" not in response.text
    weekly = client.get("/dashboard/figures.csv?weeks=4").text.splitlines()
    assert weekly[0].endswith(",levels_compared,levels_agreed")
    assert weekly[-1].endswith(",6,2")


def test_no_comparisons_yet_says_so(as_user):
    client, _ = as_user("manager")
    page = client.get("/dashboard?weeks=4").text
    assert "None in this period." in page and 'id="agreement-matrix"' not in page
