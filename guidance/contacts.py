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
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import conlist, validator

from guidance.schema import PackModel, Text, check
from guidance.yamlfile import LineDict, PackError, PackProblem, load_yaml

MANIFEST_FILE = "pack.yml"
# Keys every pack must define: the safety message and the referral route rely on them.
REQUIRED_CONTACTS = ("front_door", "out_of_hours", "emergency", "crimestoppers", "referral_form")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
_PHONE = re.compile(r"^\+?[0-9][0-9 ]{1,20}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_NEED_PHONE = ("front_door", "out_of_hours", "emergency")  # the safety message rings these


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
    model, problems = check(_ManifestModel, data, file)
    if model is None:
        return None, problems
    hours = model.hours
    contacts = {
        key: Contact(key=key, name=c.name, phone=c.phone, url=c.url, note=c.note)
        for key, c in model.contacts.items()
    }
    return (
        Manifest(
            name=model.name,
            authority=model.authority,
            version=model.version,
            effective_date=model.effective_date,
            timezone=model.timezone,
            contacts=Contacts(
                contacts,
                hours=Hours(tuple(hours.days), hours.open, hours.close,
                            frozenset(hours.closed_dates)),
                timezone=ZoneInfo(model.timezone),
            ),
        ),
        [],
    )


# -- the shape of pack.yml ----------------------------------------------------------------------

def _a_date(value: object) -> object:
    # YAML reads 2026-11-01 as a date and 2026-11-01 10:00 as a datetime (also a date)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


class _ContactModel(PackModel):
    name: Text
    note: Text
    phone: Text | None = None
    url: Text | None = None

    @validator("phone")
    def _phone(cls, value: str | None) -> str | None:  # noqa: N805 - pydantic's validator
        if value is not None and not _PHONE.match(value):
            raise ValueError("malformed phone number")
        return value

    @validator("url")
    def _url(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https://")
        return value


class _HoursModel(PackModel):
    days: conlist(Literal[DAY_NAMES], min_items=1)  # type: ignore[valid-type]
    open: dt.time
    close: dt.time
    closed_dates: list[dt.date] = []

    @validator("open", "close", pre=True)
    def _hh_mm(cls, value: object) -> dt.time:  # noqa: N805
        match = _TIME.match(value) if isinstance(value, str) else None
        if not match:
            raise ValueError('must be a quoted "HH:MM" time')
        return dt.time(int(match[1]), int(match[2]))

    @validator("close")
    def _after_open(cls, value: dt.time, values: dict) -> dt.time:  # noqa: N805
        if "open" in values and values["open"] >= value:
            raise ValueError("must be after 'hours.open'")
        return value

    @validator("closed_dates", pre=True, each_item=True)
    def _dates(cls, value: object) -> object:  # noqa: N805
        return _a_date(value)


class _ManifestModel(PackModel):
    name: Text
    authority: Text
    version: Text
    effective_date: dt.date
    timezone: Text
    hours: _HoursModel
    contacts: dict[str, _ContactModel]

    @validator("effective_date", pre=True)
    def _effective(cls, value: object) -> object:  # noqa: N805
        return _a_date(value)

    @validator("timezone")
    def _zone(cls, value: str) -> str:  # noqa: N805
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @validator("contacts", pre=True)
    def _keys(cls, value: object) -> object:  # noqa: N805
        if isinstance(value, dict):
            bad = [str(key) for key in value if not _KEY.match(str(key))]
            if bad:
                raise ValueError(f"contact keys must be lower_snake_case: {', '.join(bad)}")
            missing = [key for key in REQUIRED_CONTACTS if key not in value]
            if missing:
                raise ValueError("required contact " + ", ".join(f"'{k}'" for k in missing)
                                 + " is missing")
        return value

    @validator("contacts")
    def _numbers(cls, value: dict[str, _ContactModel]) -> dict:  # noqa: N805
        needing = [key for key in _NEED_PHONE if key in value and not value[key].phone]
        if needing:
            raise ValueError(", ".join(f"'{k}'" for k in needing) + " needs a phone number")
        return value
