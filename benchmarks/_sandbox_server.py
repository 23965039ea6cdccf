"""Serve the sandboxes on loopback in a separate process, so the server's CPU never competes with the client's.

Usage (by ``bench_fanout``): ``python _sandbox_server.py '{"seed": 1, "size": {"vobiz": 6000}}'``.
Prints one JSON line ``{"urls": {...}, "env": {...}}`` once serving, then reads commands from stdin:

* ``latency SECONDS``: set ``Faults(latency=SECONDS)`` on every sandbox; answers ``ok``;
* ``requests``: answers a JSON object provider id → requests served so far;
* end of input: stop and exit.

Workaround: ``LoopbackServer`` binds its listening socket as ``socket.socket(AF_INET, SOCK_STREAM)``,
whose ``proto`` is 0, so asyncio's ``_set_nodelay`` (which requires ``proto == IPPROTO_TCP``) leaves
Nagle's algorithm on for every accepted connection. Each response on a kept-alive connection then
waits for the client's delayed ACK: +40 ms per request after the first, which would swamp the
latencies measured here. Until ``numbroker/_sandbox.py`` passes ``socket.IPPROTO_TCP``, this script
creates the socket that way itself (harmless once fixed).
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any

import numbroker._sandbox
from numbroker.sandbox import Faults, create_sandboxes, serve_sandboxes


class _TcpSockets:
    """The ``socket`` module, except that ``socket(family, type)`` asks for IPPROTO_TCP explicitly."""

    def __getattr__(self, name: str) -> Any:
        return getattr(socket, name)

    @staticmethod
    def socket(family: int = socket.AF_INET, type: int = socket.SOCK_STREAM, proto: int = 0) -> socket.socket:
        if proto == 0 and type == socket.SOCK_STREAM and family in (socket.AF_INET, socket.AF_INET6):
            proto = socket.IPPROTO_TCP
        return socket.socket(family, type, proto)


setattr(numbroker._sandbox, "socket", _TcpSockets())  # noqa: B010 (a module attribute mypy does not see)


def main() -> None:
    spec = json.loads(sys.argv[1])
    sandboxes = create_sandboxes(seed=int(spec.get("seed", 0)), size=spec.get("size"))
    env: dict[str, str] = {}
    for sandbox in sandboxes.values():
        env.update(sandbox.env)
    with serve_sandboxes(sandboxes) as urls:
        print(json.dumps({"urls": urls, "env": env}), flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "latency":
                for sandbox in sandboxes.values():
                    sandbox.faults = Faults(latency=float(argument))
                print("ok", flush=True)
            elif command == "requests":
                print(json.dumps({pid: len(sb.log) for pid, sb in sandboxes.items()}), flush=True)
            else:
                print(f"unknown command {command!r}", flush=True)


if __name__ == "__main__":
    main()
