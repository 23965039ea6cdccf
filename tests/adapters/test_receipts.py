"""Purchase receipts: vendor values kept JSON-safe."""

from __future__ import annotations

from numbroker.adapters._json import loads


def test_a_receipt_shows_an_out_of_range_number_by_its_start() -> None:
    """A purchase answer's 1e-999999999 fee is neither a gigabyte of zeros nor silently dropped."""
    from numbroker.adapters._receipts import json_safe

    body = loads("p", b'{"setup_fee": 1e-999999999, "monthly_fee": 1.5e2}')
    assert {"setup_fee": "1e-999999999", "monthly_fee": "150"} == {k: json_safe(v) for k, v in body.items()}
