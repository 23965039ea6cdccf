"""Twilio: available numbers searched per number type (HTTP Basic), priced from Twilio's Pricing API.

See :class:`~numbroker_providers.twilio.TwilioProvider` for the quirks handled (the 30-number search cap,
the price list joined by number type, capability keys in two cases, form-encoded purchases).
"""

from numbroker_providers.twilio._adapter import TwilioProvider

__all__ = ["TwilioProvider"]
