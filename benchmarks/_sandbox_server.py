"""Serve the sandboxes on loopback in a separate process, so the server's CPU never competes with the client's.

Usage (by ``bench_fanout``): ``python _sandbox_server.py '{"seed": 1, "size": {"vobiz": 6000}}'``.
Prints one JSON line ``{"urls": {...}, "env": {...}}`` once serving, then reads commands from stdin:

* ``latency SECONDS``: set ``Faults(latency=SECONDS)`` on every sandbox; answers ``ok``;
* ``requests``: answers a JSON object provider id → requests served so far;
* end of input: stop and exit.

An optional ``"ids"`` list limits which providers' sandboxes this process serves (default: all), and
``"options"`` are passed to their factories (e.g. ``{"balance": null}``: Vobiz never runs out of money).
"""

from __future__ import annotations

import json
import sys

from numbroker.sandbox import Faults, create_sandboxes, serve_sandboxes


def main() -> None:
    spec = json.loads(sys.argv[1])
    sandboxes = create_sandboxes(
        spec.get("ids"), seed=int(spec.get("seed", 0)), size=spec.get("size"), **spec.get("options", {})
    )
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
