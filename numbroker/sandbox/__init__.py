"""The built-in vendor emulators ("sandboxes"), wired to the real adapters, and the kit to write one.

A sandbox is a small Starlette app that speaks one vendor's wire format over a deterministic
inventory, with fault knobs (:class:`Faults`). Every built-in provider ships one beside its adapter
(``numbroker_providers.<id>.sandbox``; the provider's class attribute ``sandbox`` names the factory),
which describes only its wire format; everything they share lives in this package:

* the :class:`Sandbox` base (the ASGI app, ground truth, request log, purchase state, paging helpers)
  and :class:`RequestContext`, what a vendor handler is given; :class:`Refused`, what a handler's
  request-checking helpers raise to answer with an error at once; :func:`basic_auth`;
* the fault-injection pipeline every endpoint runs through (see :class:`Faults`), and its knobs as
  JSON (:func:`load_faults`, :func:`dump_faults`; the ``NUMBROKER_SANDBOX_FAULTS`` environment
  variable, :data:`FAULTS_ENV`, gives them to :func:`create_sandboxes` and so to
  ``numbroker sandbox serve``);
* inspection endpoints on every sandbox, for loopback clients: ``GET /_sandbox/state`` (what the
  account owns, what reached the server: :meth:`Sandbox.state`) and ``PUT /_sandbox/faults``
  (replace the knobs of a running sandbox);
* the value types: :class:`ServedRequest` (the request log), :class:`SandboxRecord` (the ground
  truth), :class:`Reply` (what a handler answers), :class:`NumberedPage` and :class:`TokenPage` (what
  the paging helpers slice);
* :class:`LoopbackServer` and :func:`serve_sandboxes`: sandboxes over real loopback HTTP;
* deterministic data: valid numbers (:func:`draw_numbers`), the cross-vendor overlap
  (:func:`shared_numbers`), inventories laid out bucket by bucket (:func:`bucketed_inventory`,
  :func:`shares`), money, timestamps and uuids;
* :func:`create_sandboxes` and the real adapters pointed at them, in-process
  (:func:`in_process_providers`, used by ``numbroker search --sandbox``) or over loopback
  (:func:`loopback_providers`).

Needs the ``sandbox`` extra (Starlette and uvicorn): ``pip install 'numbroker[sandbox]'``.
"""

from __future__ import annotations

from numbroker.sandbox._app import Sandbox
from numbroker.sandbox._context import RequestContext, basic_auth
from numbroker.sandbox._faults import Faults, dump_faults, load_faults
from numbroker.sandbox._inventory import (
    GeneratedNumber,
    SharedNumber,
    bucketed_inventory,
    draw_number,
    draw_numbers,
    shared_numbers,
    shares,
)
from numbroker.sandbox._server import LoopbackServer, serve_sandboxes
from numbroker.sandbox._types import (
    InvalidPageToken,
    NumberedPage,
    Refused,
    Reply,
    SandboxRecord,
    ServedRequest,
    TokenPage,
)
from numbroker.sandbox._values import draw_money, draw_timestamp, json_number, now_iso, seeded_uuid
from numbroker.sandbox._wiring import (
    FAULTS_ENV,
    create_sandboxes,
    in_process_providers,
    loopback_providers,
    sandboxed_ids,
)
from numbroker.sandbox._wiring import IN_PROCESS_ORIGIN as IN_PROCESS_ORIGIN

__all__ = [
    # using the sandboxes
    "FAULTS_ENV",
    "Faults",
    "LoopbackServer",
    "Sandbox",
    "ServedRequest",
    "create_sandboxes",
    "dump_faults",
    "in_process_providers",
    "load_faults",
    "loopback_providers",
    "sandboxed_ids",
    "serve_sandboxes",
    # writing one (a vendor emulator beside its adapter)
    "GeneratedNumber",
    "InvalidPageToken",
    "NumberedPage",
    "Refused",
    "Reply",
    "RequestContext",
    "SandboxRecord",
    "SharedNumber",
    "TokenPage",
    "basic_auth",
    "bucketed_inventory",
    "draw_money",
    "draw_number",
    "draw_numbers",
    "draw_timestamp",
    "json_number",
    "now_iso",
    "seeded_uuid",
    "shared_numbers",
    "shares",
]
