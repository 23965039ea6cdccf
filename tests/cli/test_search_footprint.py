"""What a search builds: the models only buying, owned lists and exchange rates use wait for their first use."""

from __future__ import annotations

import json
import subprocess
import sys

_SEARCH = """
import json, os, sys
import numbroker._cli as cli_module
from numbroker._owned import OwnedNumber
from numbroker._pricing import ExchangeRates
from numbroker.adapters._receipts import PurchaseReceipt

def exit_now(code):
    sys.stdout.flush()
    built = {model.__name__: model.__pydantic_complete__ for model in (OwnedNumber, ExchangeRates, PurchaseReceipt)}
    print(json.dumps({"code": code, "built": built}), file=sys.__stderr__)

cli_module._exit_now = exit_now
cli_module.main(sys.argv[1:])
"""


def _built(*args: str) -> dict[str, bool]:
    done = subprocess.run([sys.executable, "-c", _SEARCH, *args], capture_output=True, text=True, check=True)
    state = json.loads(done.stderr.strip().splitlines()[-1])
    assert state["code"] == 0, done.stderr
    return dict(state["built"])


def test_a_search_builds_no_owned_receipt_or_rates_model() -> None:
    built = _built("search", "--sandbox", "--country", "US", "--format", "json")
    assert built == {"OwnedNumber": False, "ExchangeRates": False, "PurchaseReceipt": False}


def test_the_models_are_built_when_used() -> None:
    from decimal import Decimal

    from numbroker import ExchangeRates, OwnedNumber, PurchaseReceipt

    rates = ExchangeRates.model_validate({"base": "USD", "rates": {"EUR": "0.9"}})
    assert rates.rates == {"EUR": Decimal("0.9")} and ExchangeRates.__pydantic_complete__
    assert OwnedNumber.model_json_schema()["title"] == "OwnedNumber" and OwnedNumber.__pydantic_complete__
    assert (
        PurchaseReceipt.model_fields
        and PurchaseReceipt.model_validate({"provider": "fake", "offer_id": "x", "e164": "+14155552671"}).provider
        == "fake"
    )
