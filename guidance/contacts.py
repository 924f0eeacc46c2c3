"""The pack manifest (pack.yml): the authority, version, front-door hours and contacts.

One source of truth for every number the guidance gives. `load_manifest` never raises for
content problems: it returns every problem it finds with the file and line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from guidance.yamlfile import LineDict, PackError, PackProblem, load_yaml

MANIFEST_FILE = "pack.yml"
# Keys every pack must define: the safety message and the referral route rely on them.
REQUIRED_CONTACTS = ("front_door", "out_of_hours", "emergency", "crimestoppers", "referral_form")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
_PHONE = re.compile(r"^\+?[0-9][0-9 ]{1,20}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_TOP_FIELDS = {"name", "authority", "version", "effective_date", "timezone", "hours", "contacts"}
_CONTACT_FIELDS = {"name", "phone", "url", "note"}
_HOURS_FIELDS = {"days", "open", "close", "closed_dates"}


@dataclass(frozen=True)
class Contact:
    key: str
    name: str
    phone: str | None
    url: str | None
    note: str


@dataclass(frozen=True)
class Hours:
    days: tuple[str, ...]
    open: dt.time
    close: dt.time
    closed_dates: frozenset[dt.date] = frozenset()

    def is_open(self, local: dt.datetime) -> bool:
        """Whether the front door answers at this local (pack time zone) moment."""
        if local.date() in self.closed_dates:
            return False
        if DAY_NAMES[local.weekday()] not in self.days:
            return False
        return self.open <= local.time().replace(tzinfo=None) < self.close


@dataclass(frozen=True)
class SafetyLine:
    number: str
    name: str
    in_hours: bool


class Contacts:
    """The pack's contacts by key, with the hours that decide which number to give now."""

    def __init__(self, contacts: dict[str, Contact], *, hours: Hours, timezone: ZoneInfo):
        missing = [key for key in REQUIRED_CONTACTS if key not in contacts]
        if missing:
            raise ValueError(f"missing required contacts: {', '.join(missing)}")
        self._contacts = dict(contacts)
        self.hours = hours
        self.timezone = timezone

    def get(self, key: str) -> Contact | None:
        return self._contacts.get(key)

    def keys(self) -> list[str]:
        return list(self._contacts)

    def __iter__(self) -> Iterator[Contact]:
        return iter(self._contacts.values())

    def __contains__(self, key: object) -> bool:
        return key in self._contacts

    @property
    def front_door(self) -> Contact:
        return self._contacts["front_door"]

    @property
    def out_of_hours(self) -> Contact:
        return self._contacts["out_of_hours"]

    @property
    def emergency(self) -> Contact:
        return self._contacts["emergency"]

    @property
    def crimestoppers(self) -> Contact:
        return self._contacts["crimestoppers"]

    @property
    def referral_form(self) -> Contact:
        return self._contacts["referral_form"]

    def local_time(self, now: dt.datetime) -> dt.datetime:
        """`now` in the pack's time zone. A naive `now` is taken as already local."""
        if now.tzinfo is None:
            return now.replace(tzinfo=self.timezone)
        return now.astimezone(self.timezone)

    def safety_line(self, now: dt.datetime) -> SafetyLine:
        """The number to ring now: the front door in its hours, the out-of-hours team otherwise."""
        in_hours = self.hours.is_open(self.local_time(now))
        contact = self.front_door if in_hours else self.out_of_hours
        return SafetyLine(number=contact.phone or "", name=contact.name, in_hours=in_hours)

    def safety_message(self, now: dt.datetime) -> str:
        """The plain-words safety message: 999 first, then the number to ring now."""
        line = self.safety_line(now)
        when = "now (office hours)" if line.in_hours else "now (out of hours)"
        return (
            f"If a child is in immediate danger, ring {self.emergency.phone} now. "
            f"Otherwise ring the {line.name} {when} on {line.number}."
        )


@dataclass(frozen=True)
class Manifest:
    name: str
    authority: str
    version: str
    effective_date: dt.date
    timezone: str
    contacts: Contacts


def load_manifest(pack_dir: Path) -> tuple[Manifest | None, list[PackProblem]]:
    """Read and check `pack.yml`; return (manifest or None, every problem found)."""
    file = Path(pack_dir) / MANIFEST_FILE
    try:
        data = load_yaml(file)
    except PackError as exc:
        return None, list(exc.problems)
    if not isinstance(data, LineDict):
        return None, [PackProblem(file, 1, "pack.yml must be a mapping of fields")]
    checker = _Checker(file)
    manifest = checker.manifest(data)
    return (manifest if not checker.problems else None), checker.problems


class _Checker:
    """Collects problems while reading the manifest, so all of them are reported at once."""

    def __init__(self, file: Path):
        self.file = file
        self.problems: list[PackProblem] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(PackProblem(self.file, line, message))

    def text(self, data: LineDict, key: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(data.line, f"'{key}' is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            hint = " (quote it)" if isinstance(value, int | float) else ""
            self.problem(data.line_of(key), f"'{key}' must be non-empty text{hint}")
            return None
        return value.strip()

    def manifest(self, data: LineDict) -> Manifest | None:
        for key in data:
            if key not in _TOP_FIELDS:
                self.problem(data.line_of(key), f"unknown field '{key}'")
        name = self.text(data, "name")
        authority = self.text(data, "authority")
        version = self.text(data, "version")
        effective = data.get("effective_date")
        if not isinstance(effective, dt.date) or isinstance(effective, dt.datetime):
            self.problem(data.line_of("effective_date"), "'effective_date' must be YYYY-MM-DD")
            effective = None
        tz_name = self.text(data, "timezone")
        timezone = None
        if tz_name:
            try:
                timezone = ZoneInfo(tz_name)
            except (ZoneInfoNotFoundError, ValueError):
                self.problem(data.line_of("timezone"), f"unknown time zone '{tz_name}'")
        hours = self.hours(data)
        contacts = self.contacts(data)
        if self.problems or None in (name, authority, version, effective, timezone, hours):
            return None
        return Manifest(
            name=name,
            authority=authority,
            version=version,
            effective_date=effective,
            timezone=tz_name,
            contacts=Contacts(contacts, hours=hours, timezone=timezone),
        )

    def hours(self, data: LineDict) -> Hours | None:
        raw = data.get("hours")
        if not isinstance(raw, LineDict):
            self.problem(data.line_of("hours"), "'hours' must be a mapping with days, open, close")
            return None
        for key in raw:
            if key not in _HOURS_FIELDS:
                self.problem(raw.line_of(key), f"unknown field 'hours.{key}'")
        days = raw.get("days")
        if not isinstance(days, list) or not days or any(d not in DAY_NAMES for d in days):
            self.problem(raw.line_of("days"), f"'hours.days' must list days from {DAY_NAMES}")
            days = None
        times = {}
        for key in ("open", "close"):
            value = raw.get(key)
            match = _TIME.match(value) if isinstance(value, str) else None
            if not match:
                self.problem(raw.line_of(key), f"'hours.{key}' must be a quoted \"HH:MM\" time")
            else:
                times[key] = dt.time(int(match[1]), int(match[2]))
        if len(times) == 2 and times["open"] >= times["close"]:
            self.problem(raw.line_of("close"), "'hours.close' must be after 'hours.open'")
        closed = raw.get("closed_dates") or []
        if not isinstance(closed, list) or any(
            not isinstance(d, dt.date) or isinstance(d, dt.datetime) for d in closed
        ):
            self.problem(raw.line_of("closed_dates"), "'hours.closed_dates' must list dates")
            closed = []
        if days is None or len(times) != 2 or times["open"] >= times["close"]:
            return None
        return Hours(tuple(days), times["open"], times["close"], frozenset(closed))

    def contacts(self, data: LineDict) -> dict[str, Contact]:
        raw = data.get("contacts")
        if not isinstance(raw, LineDict):
            self.problem(data.line_of("contacts"), "'contacts' must be a mapping of key -> contact")
            return {}
        contacts: dict[str, Contact] = {}
        for key, entry in raw.items():
            line = raw.line_of(key)
            if not _KEY.match(str(key)):
                self.problem(line, f"contact key '{key}' must be lower_snake_case")
                continue
            if not isinstance(entry, LineDict):
                self.problem(line, f"contact '{key}' must be a mapping with name and note")
                continue
            for field in entry:
                if field not in _CONTACT_FIELDS:
                    self.problem(entry.line_of(field), f"unknown field '{field}' in '{key}'")
            name = self.text(entry, "name")
            note = self.text(entry, "note")
            phone = self.text(entry, "phone", required=False)
            url = self.text(entry, "url", required=False)
            if phone and not _PHONE.match(phone):
                self.problem(entry.line_of("phone"), f"contact '{key}': malformed phone number")
            if url and not url.startswith(("https://", "http://")):
                self.problem(entry.line_of("url"), f"contact '{key}' url must start with https://")
            if name and note:
                contacts[key] = Contact(key=key, name=name, phone=phone, url=url, note=note)
        for key in REQUIRED_CONTACTS:
            if key not in raw:
                self.problem(raw.line, f"required contact '{key}' is missing")
        for key in ("front_door", "out_of_hours", "emergency"):
            if key in contacts and not contacts[key].phone:
                self.problem(raw.line_of(key), f"contact '{key}' needs a phone number")
        return contacts
