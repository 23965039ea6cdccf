"""Secrets never shown: one redactor for numbroker's own text and for the HTTP libraries' log records.

A :class:`Redactor` holds the credentials one provider registered and replaces each (and its URL-quoted
form, as it appears in a request path) with ``***``. The HTTP libraries numbroker drives log on their own:
httpx logs every request's full URL at INFO (account ids are path segments) and httpcore logs raw response
headers at DEBUG (a vendor may echo a credential). :data:`LIBRARY_LOGS` redacts those records with every
credential any provider in this process registered; a provider's redactor registers there as it learns one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

__all__ = ["LIBRARY_LOGS", "LibraryLogFilter", "Redactor"]

MASK = "***"


class Redactor:
    """Replaces every registered secret, and its URL-quoted form, with ``***``.

    Longer secrets are replaced first, so a secret that contains another is never half-shown.
    """

    __slots__ = ("_on_add", "_variants")

    def __init__(self, *, on_add: Callable[[str], None] | None = None) -> None:
        """Start with no secrets; ``on_add`` is told each new secret (e.g. :meth:`LibraryLogFilter.add`)."""
        self._variants: list[tuple[str, str | None]] = []
        self._on_add = on_add

    def add(self, secret: str) -> None:
        """Register ``secret`` (an empty one is ignored)."""
        if not secret or any(secret == known for known, _ in self._variants):
            return
        quoted = quote(secret, safe="")
        self._variants.append((secret, quoted if quoted != secret else None))
        self._variants.sort(key=lambda variant: len(variant[0]), reverse=True)
        if self._on_add is not None:
            self._on_add(secret)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The registered secrets, sorted (for digests that identify an account; never for display)."""
        return tuple(sorted(secret for secret, _ in self._variants))

    def redact(self, text: str) -> str:
        """``text`` with every registered secret (and its URL-quoted form) replaced by ``***``."""
        for secret, quoted in self._variants:
            text = text.replace(secret, MASK)
            if quoted is not None:
                text = text.replace(quoted, MASK)
        return text


class LibraryLogFilter(logging.Filter):
    """Redacts the records of the HTTP libraries' loggers with every secret of this process.

    It installs itself on those loggers when the first secret is registered.
    """

    LOGGERS = (
        "httpx",
        "httpcore",
        "httpcore.connection",
        "httpcore.http11",
        "httpcore.http2",
        "httpcore.proxy",
        "httpcore.socks",
    )

    def __init__(self) -> None:
        super().__init__()
        self._installed = False
        self._redactor = Redactor()

    def add(self, secret: str) -> None:
        """Register ``secret`` for every library record from now on (installing the filter first)."""
        if not self._installed:
            for name in self.LOGGERS:
                logging.getLogger(name).addFilter(self)
            self._installed = True
        self._redactor.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record``'s message when it shows a secret; never drop a record."""
        message = record.getMessage()
        redacted = self._redactor.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


LIBRARY_LOGS = LibraryLogFilter()
"""The process-wide filter on the HTTP libraries' loggers."""
