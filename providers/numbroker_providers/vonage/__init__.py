"""Vonage (``rest.nexmo.com``): numbers priced monthly in euros, bought by number.

Search maps onto ``GET /number/search`` (page-number paging by ``index``/``size`` with ``count``).
"""

from numbroker_providers.vonage._adapter import VonageProvider

__all__ = ["VonageProvider"]
