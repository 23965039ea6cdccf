"""Bird (formerly MessageBird): numbers in stock, searched per organization with an access key."""

from numbroker_providers.bird._adapter import BirdProvider

__all__ = ["BirdProvider"]
