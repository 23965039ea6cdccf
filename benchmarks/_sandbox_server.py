"""Serve the sandboxes on loopback in a separate process, so the server's CPU never competes with the client's GIL.

Usage (by ``bench_fanout``): ``python _sandbox_server.py '{"seed": 1, "size": {"vobiz": 6000}}'``.
Prints one JSON line ``{"urls": {...}, "env": {...}}`` once serving, then reads commands from stdin:

* ``latency SECONDS``: every request waits that long before it is answered; answers ``ok``;
* ``mode live``: every request is answered by its sandbox (the default); answers ``ok``;
* ``mode prerendered``: a ``GET`` answered ``200`` before (same path and query) is answered again with the
  recorded bytes, without running the sandbox: the emulators' own CPU (routing, views, JSON rendering) is
  kept out of the measurement, and what is left is the latency and the HTTP server; answers ``ok``;
* ``requests``: answers a JSON object provider id → requests its sandbox served so far;
* ``stats``: answers ``{"cpu_s": …, "replayed": …, "rendered": …}``: this process's CPU seconds so far (every
  thread), and how many requests were answered from a recording and how many by a sandbox;
* end of input: stop and exit.

With ``"pin": true`` the process runs on the machine's last core only (when it has several), so the
emulators' threads cannot take the core the client is running on. An optional ``"ids"`` list limits
which providers' sandboxes this process serves (default: all), and ``"options"`` are passed to their
factories (e.g. ``{"balance": null}``: Vobiz never runs out of money).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

import anyio

from numbroker.sandbox import LoopbackServer, create_sandboxes

Message = dict[str, Any]


class Prerendered:
    """An ASGI wrapper that adds the latency itself and, when on, answers a ``GET`` again from its recording."""

    def __init__(self, app: Any, counts: dict[str, int]) -> None:
        self.app = app
        self.on = False
        self.latency = 0.0
        self.counts = counts
        self.recorded: dict[tuple[str, bytes], list[Message]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.latency > 0:
            await anyio.sleep(self.latency)
        key = (scope["path"], scope["query_string"])
        messages = self.recorded.get(key) if self.on and scope["method"] == "GET" else None
        if messages is not None:
            self.counts["replayed"] += 1
            for message in messages:
                await send(message)
            return
        self.counts["rendered"] += 1
        sent: list[Message] = []

        async def keep(message: Message) -> None:
            sent.append(message)
            await send(message)

        await self.app(scope, receive, keep)
        if scope["method"] == "GET" and sent and sent[0].get("status") == 200:
            self.recorded[key] = sent


def _pin_away() -> None:
    """Run on the machine's last core only (when it has several): the client's event loop keeps the others."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[-1]})


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("pin"):
        _pin_away()
    sandboxes = create_sandboxes(
        spec.get("ids"), seed=int(spec.get("seed", 0)), size=spec.get("size"), **spec.get("options", {})
    )
    env: dict[str, str] = {}
    for sandbox in sandboxes.values():
        env.update(sandbox.env)
    counts = {"replayed": 0, "rendered": 0}
    wrappers = {pid: Prerendered(sandbox.app, counts) for pid, sandbox in sandboxes.items()}
    with contextlib.ExitStack() as stack:
        urls = {
            pid: stack.enter_context(LoopbackServer(wrappers[pid])).base_url + sandbox.base_path
            for pid, sandbox in sandboxes.items()
        }
        print(json.dumps({"urls": urls, "env": env}), flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "latency":
                for wrapper in wrappers.values():
                    wrapper.latency = float(argument)
                print("ok", flush=True)
            elif command == "mode" and argument in ("live", "prerendered"):
                for wrapper in wrappers.values():
                    wrapper.on = argument == "prerendered"
                print("ok", flush=True)
            elif command == "requests":
                print(json.dumps({pid: len(sb.log) for pid, sb in sandboxes.items()}), flush=True)
            elif command == "stats":
                print(json.dumps({"cpu_s": time.process_time(), **counts}), flush=True)
            else:
                print(f"unknown command {command!r}", flush=True)


if __name__ == "__main__":
    main()
