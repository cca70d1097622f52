"""The sidebar's headings: Pinned, Today, Yesterday, Previous 7 days, Previous 30 days, then one
per month ("October 2026"), in the user's local time. Qt-free, so it is tested with a fixed
"now" and time zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Generic, Protocol, TypeVar

PINNED = "Pinned"
TODAY = "Today"
YESTERDAY = "Yesterday"
PREVIOUS_7_DAYS = "Previous 7 days"
PREVIOUS_30_DAYS = "Previous 30 days"
# English like the rest of the interface, whatever the system locale says.
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class Dated(Protocol):
    @property
    def updated_at(self) -> datetime: ...

    @property
    def pinned(self) -> bool: ...


T = TypeVar("T", bound=Dated)


@dataclass(frozen=True)
class DateGroup(Generic[T]):
    label: str
    items: tuple[T, ...]


def local_date(moment: datetime, tz: tzinfo | None = None) -> date:
    """The calendar day of `moment` in `tz` (None: the system's zone, daylight saving
    included). A naive `moment` is UTC, as the store writes it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def group_label(day: date, today: date) -> str:
    """The heading of an unpinned conversation last active on `day`."""
    days_ago = (today - day).days
    if days_ago <= 0:  # today, or a clock that was ahead
        return TODAY
    if days_ago == 1:
        return YESTERDAY
    if days_ago <= 7:
        return PREVIOUS_7_DAYS
    if days_ago <= 30:
        return PREVIOUS_30_DAYS
    return f"{MONTHS[day.month - 1]} {day.year}"


def group_by_date(
    records: Iterable[T], *, now: datetime | None = None, tz: tzinfo | None = None
) -> list[DateGroup[T]]:
    """Pinned conversations first, then the others under their date heading, newest first.

    `now` defaults to the current time; a naive `now` is UTC. `tz` is the user's zone (None:
    the system's)."""
    today = local_date(now or datetime.now(UTC), tz)
    records = list(records)
    pinned = [record for record in records if record.pinned]
    others = sorted(
        (record for record in records if not record.pinned),
        key=lambda record: record.updated_at,
        reverse=True,
    )
    groups: list[DateGroup[T]] = []
    if pinned:
        groups.append(DateGroup(PINNED, tuple(pinned)))
    label: str | None = None
    members: list[T] = []
    for record in others:
        this = group_label(local_date(record.updated_at, tz), today)
        if this != label and members:
            groups.append(DateGroup(label or "", tuple(members)))
            members = []
        label = this
        members.append(record)
    if members:
        groups.append(DateGroup(label or "", tuple(members)))
    return groups
