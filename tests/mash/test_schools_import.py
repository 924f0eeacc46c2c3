from pathlib import Path

import pytest
from mash_helpers import count_rows
from sqlalchemy import select

from mash.access import Actor
from mash.errors import Forbidden
from mash.models import AuditEntry, Organisation
from mash.schools_import import SchoolsImportError, import_schools

DATA = Path(__file__).parent / "data"
SYSTEM = Actor.system("test")


def schools(factory) -> dict[str, Organisation]:
    with factory() as s:
        return {
            o.urn: o
            for o in s.execute(select(Organisation).where(Organisation.urn.like("9901%"))).scalars()
        }


def test_imports_a_windows_1252_extract_by_column_name(factory):
    with factory() as s:
        report = import_schools(
            session=s, actor=SYSTEM, data=(DATA / "schools_cp1252.csv").read_bytes(), la_code="344"
        )
    assert report.encoding == "cp1252"
    assert (report.created, report.updated, report.skipped_closed, report.skipped_other_la) == (
        2,
        0,
        1,
        1,
    )
    imported = schools(factory)
    assert set(imported) == {"990101", "990102"}
    brigid = imported["990101"]
    assert brigid.name == "St Brigid’s Catholic Primary School (fictional)"
    assert (brigid.kind, brigid.la_code, brigid.la_name, brigid.phase) == (
        "school",
        "344",
        "Wirral",
        "Primary",
    )
    assert brigid.type_name == "Voluntary aided school" and brigid.postcode == "CH41 1ZZ"
    assert imported["990102"].name.startswith("Café Lane")


def test_reimport_updates_by_urn(factory):
    data = (DATA / "schools_cp1252.csv").read_bytes()
    with factory() as s:
        import_schools(session=s, actor=SYSTEM, data=data)
        report = import_schools(session=s, actor=SYSTEM, data=data.replace(b"Upton", b"Greasby"))
    assert (report.created, report.updated) == (0, 3)
    assert schools(factory)["990102"].locality == "Greasby"


def test_utf8_with_bom_is_read(factory):
    text = (DATA / "schools_cp1252.csv").read_bytes().decode("cp1252")
    with factory() as s:
        report = import_schools(
            session=s, actor=SYSTEM, data=b"\xef\xbb\xbf" + text.encode("utf-8")
        )
    assert report.encoding == "utf-8" and report.created == 3
    assert schools(factory)["990102"].name.startswith("Café Lane")


def test_malformed_rows_are_all_reported_and_nothing_is_imported(factory):
    audits = count_rows(factory, AuditEntry)
    with factory() as s, pytest.raises(SchoolsImportError) as caught:
        import_schools(session=s, actor=SYSTEM, data=(DATA / "schools_malformed.csv").read_bytes())
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        "line 3: URN '99X105' is not a 5-8 digit number",
        "line 4: EstablishmentName is empty",
        "line 4: Postcode 'ZZ99' is not a UK postcode",
    ]
    assert "line 3" in str(caught.value) and caught.value.field == "file"
    assert schools(factory) == {} and count_rows(factory, AuditEntry) == audits


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Name,Town\nX,Y\n", "line 1: missing column(s) URN, EstablishmentName"),
        (b"URN,EstablishmentName\n990201,A,extra\n", "line 2: 3 fields where the header has 2"),
        (b"URN,EstablishmentName,Town\n990201,A\n", "line 2: fewer fields than the header"),
        (b"URN,EstablishmentName\n990201,A\n990201,B\n", "line 3: URN 990201 repeats line 2"),
    ],
)
def test_structural_problems(factory, data, message):
    with factory() as s, pytest.raises(SchoolsImportError) as caught:
        import_schools(session=s, actor=SYSTEM, data=data)
    assert [str(p) for p in caught.value.problems] == [message]


def test_only_admins_import(factory, actors):
    with factory() as s, pytest.raises(Forbidden):
        import_schools(session=s, actor=actors["manager"], data=b"URN,EstablishmentName\n")
