"""The HTTP plumbing the platforms share: Retry-After parsing and jittered backoff."""

from __future__ import annotations

import pytest

from adapters.http import backoff_delay, retry_after


@pytest.mark.parametrize(("value", "expected"), [("7", 7.0), ("0.5", 0.5), ("-3", 0.0), (None, 1.0),
                                                 ("Wed, 21 Oct 2015 07:28:00 GMT", 1.0), ("", 1.0)])
def test_retry_after_reads_seconds_or_falls_back(value: str | None, expected: float) -> None:
    assert retry_after(value, 1.0) == expected


def test_backoff_is_the_upper_half_of_a_capped_doubling() -> None:
    assert [backoff_delay(n, 1.0, 30.0, rng=lambda: 1.0) for n in (0, 1, 2, 3, 4, 5, 60)] == \
        [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_delay(3, 1.0, 30.0, rng=lambda: 0.0) == 4.0
    assert backoff_delay(-1, 2.0, 30.0, rng=lambda: 1.0) == 2.0
