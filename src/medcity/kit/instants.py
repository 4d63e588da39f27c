"""Instants as the database keeps them (audit, sessions, codes, snapshots): UTC text with microseconds and a Z,
so that comparing the text compares the times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_text(when: datetime) -> str:
    """`when` in the stored form; a naive time is taken as UTC already."""
    return (when.astimezone(UTC) if when.tzinfo else when).strftime(FORMAT)


def now_text() -> str:
    return to_text(datetime.now(UTC))


def from_text(text: str) -> datetime:
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)


def to_ms(when: datetime) -> int:
    """`when` as epoch milliseconds, the form the search index keeps dates in (floored, so times before 1970 stay
    on their side of a boundary); a naive time is taken as UTC."""
    return ((when if when.tzinfo else when.replace(tzinfo=UTC)) - EPOCH) // timedelta(milliseconds=1)


def shown_day(text: object) -> str:
    """A FHIR date (or the date part of a dateTime) as pages show days, dd.mm.yyyy; anything else as written."""
    if not isinstance(text, str) or not text:
        return ""
    try:
        return date.fromisoformat(text[:10]).strftime("%d.%m.%Y")
    except ValueError:
        return text
