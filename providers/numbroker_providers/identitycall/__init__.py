"""IdentityCall: virtual numbers searched through ``/virtual_numbers/available`` (Bearer API key).

Entries are passed through from IdentityCall's carrier (very likely Telnyx); see
:class:`~numbroker_providers.identitycall.IdentityCallProvider` for the quirks handled.
"""

from numbroker_providers.identitycall._adapter import IdentityCallProvider

__all__ = ["IdentityCallProvider"]
