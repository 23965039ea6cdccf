"""Raw records that carry what their request knew: tagged records for a fan-out.

A vendor whose records do not say everything an offer needs answers it in the request: some vendors'
records name no number type (the type is the request's filter, or a path segment), or no price (another
API's list, joined by type). An adapter that fans out one request per type hands each record on as
``Tagged(record, tag)``, the tag being whatever its request knew; ``_normalize`` reads it back with
:meth:`Tagged.split`. The core reads a tagged record's own record wherever it looks at one (its id for a
rejection, a key written twice), so a rejection names the vendor's record and field, never the wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Tagged", "raw_record"]

_T = TypeVar("_T")
_D = TypeVar("_D")


@dataclass(frozen=True, slots=True)
class Tagged(Generic[_T]):
    """One raw vendor record and what the request that fetched it knew (its ``tag``).

    Attributes:
        record: the record as the vendor sent it.
        tag: the adapter's context for it: the number type the request asked for, say, or a small
            dataclass with that and a price joined to it.
    """

    record: Any
    tag: _T

    @staticmethod
    def split(record: object, default: _D) -> tuple[Any, _D]:
        """``(the vendor's record, its tag)``; an untagged record (a fuzzed one, say) has the tag ``default``.

        The tag is returned as the adapter tagged it: ``default`` gives its type, so tag a fan-out's
        records with values of the default's type.
        """
        if type(record) is Tagged:
            return record.record, record.tag
        return record, default


def raw_record(record: object) -> Any:
    """The vendor's own record: a tagged record's ``record``, any other record itself."""
    return record.record if type(record) is Tagged else record
