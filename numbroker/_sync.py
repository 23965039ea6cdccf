"""The synchronous runner: numbroker's async API called from synchronous code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

__all__ = ["run_sync"]

_T = TypeVar("_T")


def run_sync(main: Callable[[], Awaitable[_T]], *, backend: str = "asyncio") -> _T:
    """Run ``main`` on a fresh event loop (asyncio or trio) and return what it returned.

    The result travels in a cell rather than through ``anyio.run``'s return value: on Python 3.11 the
    asyncio runner's exit path formats the returned object, which for a 100k-offer result costs seconds.
    """
    cell: list[_T] = []

    async def runner() -> None:
        cell.append(await main())

    anyio.run(runner, backend=backend)
    return cell[0]
