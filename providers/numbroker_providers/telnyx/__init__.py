"""Telnyx (``api.telnyx.com/v2``): number search with deepObject filters, asynchronous number orders.

See :class:`~numbroker_providers.telnyx.TelnyxProvider` and its module docstring for the wire facts.
"""

from numbroker_providers.telnyx._adapter import TelnyxProvider

__all__ = ["TelnyxProvider"]
