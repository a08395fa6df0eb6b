"""The driver's own values turned into what SQLAlchemy would have handed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.store.driver_rows import utc_datetime

MOMENT = datetime(2026, 12, 2, 17, 9, 5, 616705, tzinfo=UTC)


@pytest.mark.parametrize(
    "stored",
    [
        "2026-12-02 17:09:05.616705",  # SQLite's text of a naive UTC datetime
        "2026-12-02 17:09:05.616705+00:00",
        "2026-12-02 18:09:05.616705+01:00",
        "2026-12-02T17:09:05.616705Z",
        datetime(2026, 12, 2, 17, 9, 5, 616705),
        MOMENT.astimezone(timezone(timedelta(hours=-5))),
    ],
)
def test_stored_moments_come_back_as_aware_utc(stored: datetime | str) -> None:
    moment = utc_datetime(stored)
    assert moment == MOMENT and moment.utcoffset() == timedelta(0)


def test_whole_seconds_keep_their_value() -> None:
    assert utc_datetime("2026-12-02 17:09:05") == MOMENT.replace(microsecond=0)
