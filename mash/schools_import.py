"""Import schools from the national schools register (Get Information About Schools) CSV.

Reads the extract by its real column names (`URN`, `EstablishmentName`, `LA (code)`, ...),
in UTF-8 (with or without BOM) or Windows-1252, the register's usual encoding. Extra columns
are ignored; `URN` and `EstablishmentName` must be present.

All or nothing: every row is checked first, and if any row is malformed the import raises
`SchoolsImportError` listing each problem with its line number (the header is line 1) and
imports nothing, so a bad extract never leaves the directory half-updated. Rows are matched on
URN: new schools are created, known ones updated (their MASH area is kept). Closed
establishments are skipped unless `include_closed`; `la_code` limits the import to one local
authority (Wirral is 344).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mash import audit
from mash.access import Actor
from mash.clock import utcnow
from mash.db import unit_of_work
from mash.errors import Forbidden, InvalidInput
from mash.models import Organisation

# register column -> (Organisation attribute, max length)
COLUMNS: dict[str, tuple[str, int]] = {
    "URN": ("urn", 20),
    "EstablishmentName": ("name", 200),
    "LA (code)": ("la_code", 10),
    "LA (name)": ("la_name", 100),
    "EstablishmentNumber": ("establishment_number", 10),
    "TypeOfEstablishment (name)": ("type_name", 100),
    "EstablishmentTypeGroup (name)": ("type_group", 100),
    "EstablishmentStatus (name)": ("status", 60),
    "PhaseOfEducation (name)": ("phase", 60),
    "Street": ("street", 200),
    "Locality": ("locality", 200),
    "Address3": ("address3", 200),
    "Town": ("town", 100),
    "County (name)": ("county", 100),
    "Postcode": ("postcode", 12),
    "TelephoneNum": ("telephone", 40),
    "SchoolWebsite": ("website", 300),
}
REQUIRED = ("URN", "EstablishmentName")
_URN = re.compile(r"^\d{5,8}$")
_LA = re.compile(r"^\d{3}$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$", re.IGNORECASE)


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class SchoolsImportError(InvalidInput):
    """The file cannot be imported; `problems` lists every malformed row. Nothing changed."""

    def __init__(self, problems: list[RowProblem]) -> None:
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(
            f"The schools file was not imported, {len(problems)} problem(s): {shown}{more}",
            field="file",
        )
        self.problems = problems


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped_closed: int = 0
    skipped_other_la: int = 0
    encoding: str = "utf-8"
    urns: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 if it decodes, else Windows-1252 (the register's usual)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict"), "cp1252"


def parse(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """Check every row; returns ([(line, {attribute: value})], problems)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [RowProblem(1, f"missing column(s) {', '.join(missing)}")]
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:
            problems.append(
                RowProblem(
                    line,
                    f"{len(header) + len(record[None])} fields where the header has {len(header)}",
                )
            )
            continue
        if any(v is None for v in record.values()):
            problems.append(RowProblem(line, "fewer fields than the header"))
            continue
        if not any((v or "").strip() for v in record.values()):
            continue  # a blank line
        values: dict[str, str] = {}
        for column, (attribute, limit) in COLUMNS.items():
            value = (record.get(column) or "").strip()
            if len(value) > limit:
                problems.append(RowProblem(line, f"{column} is longer than {limit} characters"))
            values[attribute] = value
        urn = values["urn"]
        if not _URN.match(urn):
            problems.append(RowProblem(line, f"URN {urn!r} is not a 5-8 digit number"))
        elif urn in seen:
            problems.append(RowProblem(line, f"URN {urn} repeats line {seen[urn]}"))
        else:
            seen[urn] = line
        if not values["name"]:
            problems.append(RowProblem(line, "EstablishmentName is empty"))
        if values["la_code"] and not _LA.match(values["la_code"]):
            problems.append(
                RowProblem(line, f"LA (code) {values['la_code']!r} is not a 3-digit code")
            )
        if values["postcode"] and not _POSTCODE.match(values["postcode"]):
            problems.append(
                RowProblem(line, f"Postcode {values['postcode']!r} is not a UK postcode")
            )
        rows.append((line, values))
    return rows, problems


@unit_of_work
def import_schools(
    *,
    session: Session,
    actor: Actor,
    data: bytes,
    la_code: str | None = None,
    include_closed: bool = False,
) -> ImportReport:
    """Import a register extract (the file's bytes). All or nothing; see the module doc."""
    if actor.role not in {"admin", "system"}:
        raise Forbidden("Only an administrator can import schools.")
    try:
        text, encoding = decode(data)
    except UnicodeDecodeError as error:
        raise SchoolsImportError(
            [RowProblem(0, f"the file is neither UTF-8 nor Windows-1252 ({error.reason})")]
        ) from None
    rows, problems = parse(text)
    if problems:
        raise SchoolsImportError(problems)
    report = ImportReport(encoding=encoding)
    existing = (
        {
            o.urn: o
            for o in session.execute(
                select(Organisation).where(Organisation.urn.in_([v["urn"] for _, v in rows]))
            ).scalars()
        }
        if rows
        else {}
    )
    now = utcnow()
    for _, values in rows:
        if la_code and values["la_code"] != la_code:
            report.skipped_other_la += 1
            continue
        if not include_closed and values["status"].lower().startswith("closed"):
            report.skipped_closed += 1
            continue
        clean = {k: (v or None) for k, v in values.items()}
        org = existing.get(values["urn"])
        if org is None:
            org = Organisation(kind="school", created_at=now, **clean)
            session.add(org)
            report.created += 1
        else:
            if org.kind != "school":
                raise SchoolsImportError(
                    [RowProblem(0, f"URN {values['urn']} belongs to a non-school organisation")]
                )
            for key, value in clean.items():
                setattr(org, key, value)
            report.updated += 1
        org.updated_at = now
        report.urns.append(values["urn"])
    audit.record(
        session,
        actor=actor,
        action="directory.import_schools",
        subject_type="directory",
        subject_id=None,
        detail={"created": report.created, "updated": report.updated, "encoding": encoding},
    )
    return report


def import_file(
    *,
    session: Session,
    actor: Actor,
    path: Path,
    la_code: str | None = None,
    include_closed: bool = False,
) -> ImportReport:
    return import_schools(
        session=session,
        actor=actor,
        data=Path(path).read_bytes(),
        la_code=la_code,
        include_closed=include_closed,
    )
