"""Vobiz (``api.vobiz.ai``): inventory numbers with per-item fees and currency.

Search maps onto ``GET /v1/account/{auth_id}/inventory/numbers`` (page/per_page/total paging).
"""

from numbroker_providers.vobiz._adapter import VobizProvider

__all__ = ["VobizProvider"]
