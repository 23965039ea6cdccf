"""The ``[y/N]`` question before buying, answerable from a worker thread and ended at once by Ctrl-C.

The question is asked in a worker thread (buying waits for it). A plain ``input()`` there would keep
the process alive after Ctrl-C until Enter is pressed, because the event loop waits for the thread it
started. So the answer is read with a short ``select`` poll that also watches a flag set by the
Ctrl-C handler installed around the run (:func:`interruptible`).
"""

from __future__ import annotations

import select
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

__all__ = ["ask_yes_no", "interruptible"]

_STOP = threading.Event()
_POLL_SECONDS = 0.05


@contextmanager
def interruptible() -> Iterator[None]:
    """While inside, Ctrl-C also tells a pending :func:`ask_yes_no` to stop waiting for an answer."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        _STOP.set()
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    _STOP.clear()
    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)  # the flag stays set: a question still waiting must see it


def ask_yes_no(question: str) -> bool:
    """Ask ``question [y/N]`` on stderr and read a line from stdin (default no; end of input is no).

    Raises:
        KeyboardInterrupt: Ctrl-C was pressed while waiting (see :func:`interruptible`).
    """
    click.echo(f"{question} [y/N]: ", err=True, nl=False)
    while not _STOP.is_set():
        ready, _, _ = select.select([sys.stdin], [], [], _POLL_SECONDS)
        if ready:
            answer = sys.stdin.readline()
            return answer.strip().lower() in ("y", "yes")
    raise KeyboardInterrupt
