"""The ``[y/N]`` question before buying, asked from a worker thread and ended at once by Ctrl-C.

Buying asks the question in a worker thread and waits for it. A plain ``input()`` there would keep
the process alive after Ctrl-C until Enter is pressed: the event loop, interrupted, waits for the
thread it started. So while the question waits, the Ctrl-C handler (installed from the event loop's
thread, the only one that may) also raises a flag, and the answer is read with a short ``select``
poll that stops when the flag is up. Outside the question Ctrl-C is handled exactly as before.
"""

from __future__ import annotations

import select
import signal
import sys
import threading
from types import FrameType
from typing import Any

import anyio.from_thread
import click

__all__ = ["ask_yes_no"]

_POLL_SECONDS = 0.05


def ask_yes_no(question: str) -> bool:
    """Ask ``question [y/N]`` on stderr and read a line from stdin (default no; end of input is no).

    Runs in a worker thread started by anyio (``anyio.to_thread.run_sync``).

    Raises:
        KeyboardInterrupt: Ctrl-C was pressed while the question waited.
    """
    interrupted = threading.Event()
    previous = anyio.from_thread.run_sync(_watch_interrupts, interrupted)
    try:
        click.echo(f"{question} [y/N]: ", err=True, nl=False)
        while not interrupted.is_set():
            ready, _, _ = select.select([sys.stdin], [], [], _POLL_SECONDS)
            if ready:
                answer = sys.stdin.readline()
                return answer.strip().lower() in ("y", "yes")
        raise KeyboardInterrupt
    finally:
        if not interrupted.is_set():
            anyio.from_thread.run_sync(signal.signal, signal.SIGINT, previous)


def _watch_interrupts(interrupted: threading.Event) -> Any:
    """In the event loop's thread: make Ctrl-C raise ``interrupted`` too, then do what it did before."""
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        interrupted.set()
        signal.signal(signal.SIGINT, previous)
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)
    return previous
