"""Plivo (``api.plivo.com``): phone numbers searched, bought and looked up over Plivo's REST API.

Search maps onto ``GET /v1/Account/{auth_id}/PhoneNumber/`` (limit/offset paging, 20 a page).
"""

from numbroker_providers.plivo._adapter import PlivoProvider

__all__ = ["PlivoProvider"]
