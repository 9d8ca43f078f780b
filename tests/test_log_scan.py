"""The suite-wide log scan finds a full mobile number wherever a log line would show it."""

from __future__ import annotations

import logging

import pytest

from tests.log_scan import PhoneScan


@pytest.fixture
def scanned() -> tuple[logging.Logger, PhoneScan]:
    # A private logger that does not propagate: these deliberate leaks must not reach the session's scan.
    logger = logging.getLogger("tests.log_scan.private")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    scan = PhoneScan()
    logger.addHandler(scan)
    yield logger, scan
    logger.removeHandler(scan)


def test_a_number_in_the_message_its_arguments_or_a_traceback_is_found(scanned) -> None:
    logger, scan = scanned
    logger.debug("sms to 13812341234")
    logger.info("push item %r", {"phone": "+8613912345678"})
    try:
        raise ValueError("unknown push item: 15000000000")
    except ValueError:
        logger.exception("not stored")
    assert scan.seen == 3 and len(scan.hits) == 3
    assert "15000000000" in scan.hits[2] and "Traceback" in scan.hits[2]


@pytest.mark.parametrize("text", ["sms to 138****1234", "ticket 202611230001", "id 113812341234",
                                  "order 138123412345", "phone 12812341234", "13812341"])
def test_masked_numbers_and_other_digits_are_not_hits(scanned, text: str) -> None:
    logger, scan = scanned
    logger.warning(text)
    assert scan.seen == 1 and scan.hits == []
