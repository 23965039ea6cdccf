"""The owned-list part of the shared contract, run for every adapter that lists the account's numbers.

The adapters are found in the registry, so one that gains the owned-list hook joins without a change here.
"""

from __future__ import annotations

import pytest

from numbroker import ReleaseMode, available_providers, get_provider_class
from numbroker.testing.contract_owned import OwnedListContract

LISTING = sorted(pid for pid, cls in available_providers().items() if cls.lists_owned() and cls.sandbox)

for _pid in LISTING:
    _name = "TestOwnedList" + _pid.title().replace("_", "")
    globals()[_name] = type(_name, (OwnedListContract,), {"provider_id": _pid, "__module__": __name__})


def test_every_built_in_lister_is_in_the_contract() -> None:
    """Each built-in provider with the owned-list hook runs the suite: all seven carriers have it."""
    assert {"bird", "identitycall", "plivo", "telnyx", "twilio", "vobiz", "vonage"} <= set(LISTING)
    assert all(("TestOwnedList" + pid.title()) in globals() for pid in LISTING)


@pytest.mark.parametrize(
    ("pid", "release", "prices", "renewals"),
    [("telnyx", ReleaseMode.IMMEDIATE, False, False), ("vonage", ReleaseMode.IMMEDIATE, False, False)],
)
def test_what_each_vendor_declares_it_can_do_after_purchase(
    pid: str, release: ReleaseMode, prices: bool, renewals: bool
) -> None:
    """Telnyx and Vonage: released at once, neither list states a price or a renewal, no partner views."""
    declared = get_provider_class(pid).after_purchase
    assert declared is not None and declared.can_list and declared.can_get
    assert (declared.release, declared.states_prices, declared.states_renewals) == (release, prices, renewals)
    assert not declared.partner_views and "own API key" in declared.sub_accounts
