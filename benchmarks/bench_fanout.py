"""Scenario 1: the seven-provider fan-out against its critical path, and against asking one thing at a time.

The seven sandboxes are served on loopback by a separate process (``_sandbox_server.py``), pinned to the
machine's last core while this process keeps the others, with the latency added to every request.
**Their answers are pre-rendered**: a request answered once is answered again from its recorded bytes,
so the emulators' own CPU (routing, inventory views, JSON rendering) is not in the measurement; what is
left on the server is the latency and the HTTP server. Inventories are sized so that a US search needs
16 Vobiz pages (``per_page=100``), a 5-page Bird token chain (99 a page), IdentityCall's one fan-out of 4
type requests, Telnyx's one fan-out of type requests, Twilio's two waves (its country resource with the
Pricing API's list, then its 2 US types at once), 9 Vonage pages and 17 Plivo pages.

**Critical-path lower bound** (per repeat, from round trips and CPU measured in that repeat, right before
its searches):

* ``first(p)``: p's first round trip as the fan-out makes it, sent together with every other provider's
  first request (the first wave), bare (bodies read, not parsed), on warm connections;
* ``rtt(p)``: one bare round trip of a later page, alone; ``wave(p)``: ``page_concurrency`` of them at once;
* ``decode(p)``: CPU to decode one page's JSON (``numbroker.adapters._json.loads``): a chain cannot ask for page
  n+1 before reading page n's token, nor normalize a page before decoding it;
* ``fetch(p)``, ``norm(p)``: CPU to fetch and to normalize one page, replayed in process (median of 3, this
  process's CPU time): ``norm(p)`` enters the chain bound, and their sum over every page is reported;
* chain bound: Bird, ``first + (pages-1) × rtt + pages × decode + norm`` (its chain is sequential);
  numbered providers, ``first + decode + ceil((pages-1)/page_concurrency) × wave + decode + norm``;
  IdentityCall and Telnyx, ``first + decode + norm``; Twilio, ``first + decode + wave + decode + norm``;
* **work CPU**: the CPU of the same search done one request at a time against instant answers (one
  ``Searcher``, ``max_concurrency=1``, ``page_concurrency = 1``, latency 0): every page fetched, decoded,
  normalized and ranked, and the result built, with none of the fan-out's machinery and the event loop never
  idle. One event loop does all of that work whatever the fan-out does, so the search cannot take less.
  It is measured right before and right after the search and the two averaged, because this machine's
  speed drifts within seconds (the same loop of Python took 20 ms and 37 ms of CPU a second apart);
* **first answer**: no search has an answer before the earliest answer of the bare first wave (best of
  3), and the only CPU it can spend before then is what needs no answer: the CPU the search spent before
  its event loop first waited (setting up and sending the first wave, measured in that search). The rest
  of the work comes after that answer: ``first answer + work CPU - that early CPU``;
* **bound = max(chain bound, work CPU, first answer + the work after it)**. Each repeat's JSON keeps the
  parts, and ``bound_without_first_answer_ms``, the bound before the first-answer term.

An earlier bound summed each page's fetch and normalization CPU, replayed one page at a time in a hot
loop (still reported, ``replayed_pages_cpu_ms``, and over the work's CPU in a ``diagnosis`` row). It missed
work every search does (ranking each page, building the result, collecting the offers it keeps) and, as
seven medians of three replays, moved with every drift of the machine's speed: it read 0.82 to 0.91 of the
work's CPU (medians; single repeats 0.66 to 1.61), so its ratio counted that work as fan-out overhead.

**What a search is measured by**: its wall time, and its **own time**: this process's CPU during the
search plus the time its event loop waited for I/O with nothing to run (traced on asyncio's selector and
with a trio instrument). The rest of the wall is time the search was ready to run while the machine ran
other processes. On a quiet machine the two are the same; on a shared one only the own time measures
numbroker. Targets: wall / bound ≤ 1.15 and own time / bound ≤ 1.15.

**Sequential baseline**: the same adapters, one provider after another (a ``Searcher`` per provider),
one request at a time (a subclass with ``page_concurrency = 1``: numbered pages, and per-type requests).
Target: sequential / concurrent ≥ 4, by wall and by own time. The structural maximum (round trips asked
one at a time / critical waves) is reported beside it.

**The price join adds no round trip**: Twilio searched alone, wall / its own two-wave chain bound
(target ≤ 1.15). Were the price list fetched after the search instead of with its first request, the
wall would need a third round trip (about 1.5× the bound at 80 ms).

**Diagnosis**: the same search against live emulators and against their pre-rendered answers, traced
(wall, client CPU, loop waits, descheduled time, the server process's CPU): what the emulators cost.

**Noise**: a bare round trip whose kept-alive connection was dropped is measured again, and a repeat that
fails is discarded; both are counted in a note, with the reasons. A latency or backend that still fails
is reported as a note and the others still print. Every repeat's ratio is in the JSON (``samples``).
"""

from __future__ import annotations

import gc
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import anyio
import httpcore
import httpx
import sniffio
from _harness import Figure, ScenarioResult, median, paired_ratios

from numbroker import Provider, Searcher, SearchQuery
from numbroker._registry import get_provider_class
from numbroker.adapters import RawPage
from numbroker.adapters._json import loads
from numbroker.adapters._normalizing import normalize_page

QUERY = SearchQuery(country="US")
SIZES = {"vobiz": 6000, "bird": 1750, "telnyx": 390, "vonage": 2700, "plivo": 600}
"""US listings: 1540 Vobiz records (16 pages of 100), 464 Bird records (5 pages of 99), 810 Vonage records
(9 pages of 100), 339 Plivo records (17 pages of 20); IdentityCall default; Telnyx 30 per stocked (country,
type), one fan-out of 4 type requests in the US."""
SEED = 1
BACKENDS = ("asyncio", "trio")
SERVER = Path(__file__).with_name("_sandbox_server.py")


class SandboxProcess:
    """The sandbox server subprocess: urls, credentials and a latency knob."""

    def __init__(self) -> None:
        spec = json.dumps({"seed": SEED, "size": SIZES, "pin": True})
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        info = json.loads(self._readline())
        self.urls: dict[str, str] = info["urls"]
        self.env: dict[str, str] = info["env"]

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox server exited (code {self.proc.poll()})")
        return line

    def command(self, text: str) -> str:
        """Send one command line, return the answer line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self._readline().strip()

    def close(self) -> None:
        """Stop the server (end of input) and wait for it."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def sandbox_process() -> Iterator[SandboxProcess]:
    """Start the sandbox server process; stop it afterwards."""
    server = SandboxProcess()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def cores_apart() -> Iterator[None]:
    """Keep this process off the core the sandbox server is pinned to (its last), for the block."""
    if not hasattr(os, "sched_getaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    cores = sorted(before)
    if len(cores) > 1:
        os.sched_setaffinity(0, set(cores[:-1]))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


class RecordingTransport(httpx.AsyncHTTPTransport):
    """A real HTTP transport that remembers every request (to replay representative ones bare)."""

    def __init__(self, seen: list[httpx.Request]) -> None:
        super().__init__()
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return await super().handle_async_request(request)


def _sequential(cls: type[Provider]) -> type[Provider]:
    return cast(type[Provider], type(f"Sequential{cls.__name__}", (cls,), {"page_concurrency": 1}))


def build(server: SandboxProcess, *, sequential: bool = False, **options: Any) -> list[Provider]:
    """Fresh real adapters pointed at the served sandboxes."""
    out = []
    for pid, url in server.urls.items():
        cls = get_provider_class(pid)
        out.append((_sequential(cls) if sequential else cls)(env=server.env, base_url=url, **options))
    return out


class FullCollections:
    """Counts full (generation 2) garbage collections that run while a timed search is in progress."""

    def __init__(self) -> None:
        self.timing = False
        self.count = 0
        gc.callbacks.append(self._seen)

    def _seen(self, phase: str, info: dict[str, int]) -> None:
        if self.timing and phase == "start" and info["generation"] == 2:
            self.count += 1

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Collect first (as every timed run in this harness does), then count collections inside."""
        gc.collect()
        self.timing = True
        try:
            yield
        finally:
            self.timing = False


FULL_GC = FullCollections()


class LoopIdle:
    """Seconds the event loop waited for I/O with nothing to run, while :meth:`watching` (asyncio and trio)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.first_wait_cpu: float | None = None
        """This process's CPU time when the loop first waited for I/O (everything before needed no answer)."""

    def _waiting(self, timeout: float | None) -> None:
        if self.first_wait_cpu is None and timeout != 0:
            self.first_wait_cpu = time.process_time()

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Count the event loop's I/O waits from here to the end of the block."""
        if sniffio.current_async_library() == "trio":
            import trio

            idle = self

            class Waits(trio.abc.Instrument):
                def before_io_wait(self, timeout: float) -> None:
                    idle._waiting(timeout)
                    self.started = time.perf_counter()

                def after_io_wait(self, timeout: float) -> None:
                    idle.seconds += time.perf_counter() - self.started

            instrument = Waits()
            trio.lowlevel.add_instrument(instrument)
            try:
                yield
            finally:
                trio.lowlevel.remove_instrument(instrument)
            return
        import asyncio  # noqa: TID251 - the trace reads each backend's own loop

        selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
        select = selector.select

        def timed(timeout: float | None = None) -> Any:
            self._waiting(timeout)
            started = time.perf_counter()
            try:
                return select(timeout)
            finally:
                self.seconds += time.perf_counter() - started

        selector.select = timed
        try:
            yield
        finally:
            del selector.select


@dataclass
class Timing:
    """A timed search: wall seconds, this process's CPU seconds, and seconds its event loop waited for I/O.

    ``own`` is the time numbroker either ran or waited with nothing to run: the wall without the time the
    machine ran other processes while the search was ready to run (on a quiet machine, the wall).
    """

    wall: float = 0.0
    cpu: float = 0.0
    idle: float = 0.0
    early: float = 0.0
    """CPU seconds before the event loop first waited: the work that needs no answer (sending the first wave)."""

    @property
    def own(self) -> float:
        """CPU plus the event loop's I/O waits."""
        return self.cpu + self.idle

    @property
    def descheduled(self) -> float:
        """The rest of the wall: ready to run while the machine ran something else."""
        return self.wall - self.own

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Add the block's wall, CPU and loop waits (after a full collection, counting those inside)."""
        idle = LoopIdle()
        with FULL_GC.timed(), idle.watching():
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                yield
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu
                self.idle += idle.seconds
                if idle.first_wait_cpu is not None:
                    self.early += idle.first_wait_cpu - cpu


async def concurrent_search(server: SandboxProcess) -> tuple[Timing, dict[str, int], int]:
    """One fan-out search, timed; pages per provider; offers found."""
    timing = Timing()
    async with Searcher(build(server), timeout=120, own_providers=True) as searcher:
        with timing.measuring():
            result = await searcher.search(QUERY)
    if result.status.value != "complete":
        raise RuntimeError(f"fan-out search was {result.status.value}: {[r.error for r in result.failures]}")
    return timing, {r.provider: r.pages for r in result.providers}, len(result.offers)


async def sequential_search(server: SandboxProcess) -> tuple[Timing, int]:
    """The same search asking one provider after another, one page at a time, timed; offers found."""
    timing = Timing()
    offers = 0
    for provider in build(server, sequential=True):
        async with Searcher([provider], timeout=120, own_providers=True) as searcher:
            with timing.measuring():
                result = await searcher.search(QUERY)
        if result.status.value != "complete":
            raise RuntimeError(f"sequential search of {provider.id} was {result.status.value}")
        offers += len(result.offers)
    return timing, offers


async def work_cpu(server: SandboxProcess, latency: float) -> float:
    """CPU seconds of the search's work done one request at a time against instant answers (see the docstring).

    The same seven adapters, query and pre-rendered answers, in one ``Searcher`` with one request in flight
    (``max_concurrency=1``, ``page_concurrency = 1``) and no latency: every page fetched, decoded, normalized
    and ranked, and the result built, with none of the fan-out's machinery (parallel connections, the
    normalizing lock's turns, the slices) and the event loop never idle.
    """
    timing = Timing()
    server.command("latency 0")
    try:
        async with Searcher(build(server, sequential=True), timeout=120, max_concurrency=1, own_providers=True) as one:
            with timing.measuring():
                result = await one.search(QUERY)
    finally:
        server.command(f"latency {latency}")
    if result.status.value != "complete":
        raise RuntimeError(f"the one-request-at-a-time search was {result.status.value}")
    return timing.cpu


async def alone_search(server: SandboxProcess, pid: str) -> Timing:
    """One search of provider ``pid`` alone (same query, same served sandboxes), timed."""
    timing = Timing()
    provider = get_provider_class(pid)(env=server.env, base_url=server.urls[pid])
    async with Searcher([provider], timeout=120, own_providers=True) as searcher:
        with timing.measuring():
            result = await searcher.search(QUERY)
    if result.status.value != "complete":
        raise RuntimeError(f"{pid} search alone was {result.status.value}")
    return timing


def representative(
    provider: Provider, seen: Sequence[httpx.Request]
) -> tuple[list[httpx.Request], list[httpx.Request], list[httpx.Request]]:
    """The requests whose bare round trips stand for ``provider``: (its first, one page alone, one wave at once).

    Numbered: page 1; page 2 alone; pages 2… as many as ``page_concurrency`` at once (one server may
    answer concurrent requests more slowly than one). Token: the first page, and the second (later hops).
    None (IdentityCall): its concurrent per-type requests, which are its first, its only page and its only wave.
    Twilio: its country resource with the price list (its first wave), then its type requests (its page and wave).
    """
    mine = [r for r in seen if str(r.url).startswith(provider.base_url)]
    if provider.id == "twilio":
        country = [r for r in mine if r.url.path.endswith(f"/AvailablePhoneNumbers/{QUERY.country}.json")]
        pricing = [r for r in seen if str(r.url).startswith(getattr(provider, "pricing_base_url", "-"))]
        types = [r for r in mine if r not in country]
        return country + pricing[:1], types, types
    if provider.paging == "numbered":
        return [mine[0]], [mine[1]], mine[1 : 1 + provider.page_concurrency]
    if provider.paging == "token":
        return [mine[0]], [mine[1]], [mine[1]]
    return mine, mine, mine


DROPPED = (httpx.TransportError, httpcore.ProtocolError, httpcore.NetworkError)
"""What a measurement's request meets when the machine's noise drops a kept-alive connection (the server
closed it as the request went out): the measurement is taken again, and counted."""


class Drops:
    """How many measurements were taken again because a connection dropped, and repeats discarded (and why)."""

    def __init__(self) -> None:
        self.round_trips = 0
        self.repeats: list[str] = []

    def note(self) -> str:
        """The counts in words."""
        why = f" ({'; '.join(sorted(set(self.repeats)))[:300]})" if self.repeats else ""
        return (
            f"bare round trips measured again after a dropped connection: {self.round_trips}; "
            f"repeats discarded: {len(self.repeats)}{why}"
        )


DROPS = Drops()
RETRIES = 5
CPU_REPEATS = 3
"""Replays per page when a repeat measures its CPU bound (right before its search, under the same load)."""


class MeasurementError(RuntimeError):
    """A measurement that kept failing (every retry dropped or incomplete)."""


async def bare_round_trips(
    client: httpx.AsyncClient, requests: Sequence[httpx.Request]
) -> tuple[list[float], list[bytes]] | None:
    """The requests sent at once (bodies read, nothing parsed): seconds until each one was done, and the bodies.

    None when a connection was dropped under one of them (counted in :data:`DROPS`): that sample is not a
    round trip, and the caller takes it again.
    """
    bodies: list[bytes] = [b""] * len(requests)
    done: list[float] = [0.0] * len(requests)
    dropped: list[BaseException] = []

    async def one(index: int, request: httpx.Request) -> None:
        try:
            response = await client.send(client.build_request("GET", request.url, headers=request.headers))
            bodies[index] = await response.aread()
        except DROPPED as exc:
            dropped.append(exc)
            return
        done[index] = time.perf_counter() - started

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for index, request in enumerate(requests):
            tg.start_soon(one, index, request)
    if dropped:
        DROPS.round_trips += 1
        return None
    return done, bodies


async def reliable_round_trips(
    client: httpx.AsyncClient, requests: Sequence[httpx.Request], tries: int = 1
) -> list[tuple[list[float], list[bytes]]]:
    """``tries`` bare round trips of ``requests`` that no dropped connection spoiled (each retried a few times)."""
    samples: list[tuple[list[float], list[bytes]]] = []
    for _ in range(tries + RETRIES):
        sample = await bare_round_trips(client, requests)
        if sample is not None:
            samples.append(sample)
            if len(samples) == tries:
                return samples
    raise MeasurementError(f"bare round trips to {requests[0].url.host}:{requests[0].url.port} kept being dropped")


async def best_round_trip(client: httpx.AsyncClient, requests: Sequence[httpx.Request], tries: int = 3) -> float:
    """The fastest of ``tries`` bare round trips (the bound must not be inflated by a noisy sample)."""
    return min(max(done) for done, _ in await reliable_round_trips(client, requests, tries))


async def best_first_wave(
    client: httpx.AsyncClient, firsts: Mapping[str, Sequence[httpx.Request]], tries: int = 3
) -> tuple[dict[str, float], float]:
    """Per provider, the fastest of ``tries`` of its first requests done, sent with every other provider's;
    and the earliest any answer of the wave was in (no search can have an answer sooner)."""
    wave = [(pid, request) for pid, requests in firsts.items() for request in requests]
    best: dict[str, float] = {}
    earliest = math.inf
    for done, _ in await reliable_round_trips(client, [request for _, request in wave], tries):
        earliest = min(earliest, *done)
        mine: dict[str, float] = {}
        for (pid, _), seconds in zip(wave, done, strict=True):
            mine[pid] = max(mine.get(pid, 0.0), seconds)
        for pid, seconds in mine.items():
            best[pid] = min(best.get(pid, seconds), seconds)
    return best, earliest


def decode_cpu(body: bytes, repeats: int) -> float:
    """CPU seconds to decode one page's JSON the way the adapters do (Decimal numbers)."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        loads("bench", body)
        times.append(time.process_time() - started)
    return median(times)


async def page_cpu(
    server: SandboxProcess, pid: str, bodies: dict[str, bytes], fallback: bytes, repeats: int
) -> tuple[float, float]:
    """CPU seconds (this process's) to fetch one page over loopback HTTP and to normalize it (medians).

    The fetch is real (sockets, HTTP parsing, the backend's own I/O costs: all CPU the search must spend)
    against the pre-rendered answers, while the server adds no latency: waiting is not CPU, and this
    process's CPU time does not count it. The replayed requests never reach a vendor, so the adapter's
    rate limit is lifted (IdentityCall's allows 60 requests a minute, fewer than the repeats ask for).
    ``bodies`` and ``fallback`` are the recorded answers (kept for the record; the server replays them).
    """
    adapter = get_provider_class(pid)
    cls = cast(type[Provider], type(f"Unlimited{adapter.__name__}", (adapter,), {"rate_limit": None}))
    provider = cls(env=server.env, base_url=server.urls[pid])
    cursor: int | str | None = 2 if provider.paging == "numbered" else None
    fetch_times: list[float] = []
    norm_times: list[float] = []
    raw: RawPage | None = None
    clock = time.process_time  # CPU: what this process spent, whatever else the machine ran meanwhile
    async with provider:
        await provider._fetch_page(QUERY, cursor)  # a kept-alive connection, as in a search
        for _ in range(repeats):
            started = clock()
            raw = await provider._fetch_page(QUERY, cursor)
            fetch_times.append(clock() - started)
            started = clock()
            await normalize_page(provider, raw, 2, QUERY, set(), None)
            norm_times.append(clock() - started)
    return median(fetch_times), median(norm_times)


def chain_bound(
    provider: Provider,
    pages: int,
    requests: int,
    first: float,
    single: float,
    wave: float,
    decode: float,
    norm: float,
) -> tuple[float, int, int]:
    """(seconds ``provider`` cannot go below, its unavoidable waves, its round trips when asked one at a time).

    ``requests``: how many requests the provider's one page takes (IdentityCall: one per number type;
    Twilio: its type requests, after its country resource).
    """
    if provider.paging == "token":
        return first + (pages - 1) * single + pages * decode + norm, pages, pages
    if provider.paging == "numbered":
        rest = math.ceil(max(0, pages - 1) / provider.page_concurrency)
        return first + decode + rest * wave + decode + norm, 1 + rest, pages
    if provider.id == "twilio":
        return first + decode + wave + decode + norm, 2, 1 + requests
    return first + decode + norm, 1, requests


@dataclass
class Wire:
    """What one recorded search tells the bound: representative requests, and CPU per page."""

    providers: list[Provider]
    samples: dict[str, tuple[list[httpx.Request], list[httpx.Request], list[httpx.Request]]]
    firsts: dict[str, list[httpx.Request]]
    replays: dict[str, tuple[dict[str, bytes], bytes]]
    cpu: dict[str, tuple[float, float]]
    decode: dict[str, float]
    pages: dict[str, int]
    latency: float = 0.0


async def _record(server: SandboxProcess, repeats: int) -> Wire:
    """Record the wire once (no latency): representative requests, their bodies, and each page's CPU."""
    server.command("latency 0")
    seen: list[httpx.Request] = []
    # One page at a time, so each provider's requests are seen in page order (page 2 is its second request).
    recording = build(server, sequential=True, transport=RecordingTransport(seen))
    async with Searcher(recording, timeout=120, own_providers=True) as searcher:
        recorded = await searcher.search(QUERY)
    providers = build(server)
    samples = {p.id: representative(p, seen) for p in providers}
    firsts = {pid: first for pid, (first, _, _) in samples.items()}
    replays: dict[str, tuple[dict[str, bytes], bytes]] = {}
    decode: dict[str, float] = {}
    async with httpx.AsyncClient() as client:
        for pid, (first, single, _) in samples.items():
            [(_, bodies)] = await reliable_round_trips(client, single)
            by_url = {str(r.url): body for r, body in zip(single, bodies, strict=True)}
            if pid == "twilio":  # its page also reads the country resource and the price list
                [(_, leading)] = await reliable_round_trips(client, first)
                by_url.update({str(r.url): body for r, body in zip(first, leading, strict=True)})
            replays[pid] = (by_url, bodies[0])
            decode[pid] = max(decode_cpu(body, repeats=max(5, 2 * repeats)) for body in bodies)
    pages = {r.provider: r.pages for r in recorded.providers}
    wire = Wire(providers, samples, firsts, replays, {}, decode, pages)
    wire.cpu = await pages_cpu(server, wire, max(5, 2 * repeats))
    return wire


async def pages_cpu(server: SandboxProcess, wire: Wire, repeats: int) -> dict[str, tuple[float, float]]:
    """Per provider, CPU seconds to fetch and to normalize one page (median of ``repeats``), at no latency."""
    server.command("latency 0")
    try:
        return {
            pid: await page_cpu(server, pid, by_url, fallback, repeats)
            for pid, (by_url, fallback) in wire.replays.items()
        }
    finally:
        server.command(f"latency {wire.latency}")


@dataclass
class Repeat:
    """One repeat's measurements at one latency."""

    search: Timing
    bound: float
    sequential: Timing
    detail: dict[str, float]
    structural: float
    twilio: tuple[Timing, float] | None


async def _repeat(server: SandboxProcess, wire: Wire, client: httpx.AsyncClient) -> Repeat:
    """Bare round trips on warm connections, then the searches they bound, back to back."""
    first_hops, first_answer = await best_first_wave(client, wire.firsts)
    rtts = {
        pid: (first_hops[pid], await best_round_trip(client, single), await best_round_trip(client, wave))
        for pid, (_, single, wave) in wire.samples.items()
    }
    cpu = await pages_cpu(server, wire, CPU_REPEATS)  # right before the search: under the same machine load
    # The work's CPU right before and right after the search: this machine's speed drifts by up to 1.7x
    # within seconds (a fixed loop of Python measured 20 to 37 ms of CPU), so the two are averaged.
    before = await work_cpu(server, wire.latency)
    search, pages, offers = await concurrent_search(server)
    work = (before + await work_cpu(server, wire.latency)) / 2
    sequential, sequential_offers = await sequential_search(server)
    if offers != sequential_offers:
        raise RuntimeError(f"concurrent found {offers} offers, sequential {sequential_offers}")
    chain = 0.0
    critical = ""
    total_rounds = 0
    critical_waves = 0
    twilio: tuple[float, float] | None = None
    for provider in wire.providers:
        requests = wire.samples[provider.id][2] if provider.id == "twilio" else wire.firsts[provider.id]
        bound, unavoidable, rounds = chain_bound(
            provider,
            pages[provider.id],
            len(requests),
            *rtts[provider.id],
            wire.decode[provider.id],
            cpu[provider.id][1],
        )
        total_rounds += rounds
        critical_waves = max(critical_waves, unavoidable)
        if bound > chain:
            chain, critical = bound, provider.id
        if provider.id == "twilio":
            twilio = (await alone_search(server, "twilio"), bound)
    replayed = sum(pages[p.id] * sum(cpu[p.id]) for p in wire.providers)
    # No answer is in before the first answer's round trip, and only the CPU spent before the loop first
    # waited (sending the first wave) needs none: the rest of the work comes after that answer.
    answered = first_answer + max(0.0, work - search.early)
    detail = {
        "chain_ms": chain * 1000,
        "work_cpu_ms": work * 1000,
        "first_answer_ms": first_answer * 1000,
        "before_first_wait_cpu_ms": search.early * 1000,
        "answer_then_work_ms": answered * 1000,
        "bound_without_first_answer_ms": max(chain, work) * 1000,
        "replayed_pages_cpu_ms": replayed * 1000,
        f"{critical}_first_ms": rtts[critical][0] * 1000,
        f"{critical}_rtt_ms": rtts[critical][1] * 1000,
        f"{critical}_wave_ms": rtts[critical][2] * 1000,
        f"{critical}_decode_ms": wire.decode[critical] * 1000,
    }
    return Repeat(search, max(chain, work, answered), sequential, detail, total_rounds / critical_waves, twilio)


async def _repeats(server: SandboxProcess, wire: Wire, repeats: int) -> list[Repeat]:
    """``repeats`` good repeats (after one that only warms the connections); a failed one is discarded, counted."""
    kept: list[Repeat] = []
    failed = 0
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32)) as client:
        warm = True
        while len(kept) < repeats:
            try:
                sample = await _repeat(server, wire, client)
            except Exception as exc:  # the machine's noise: discard the repeat, say why, go on
                DROPS.repeats.append(f"{type(exc).__name__}: {exc}"[:160])
                failed += 1
                if failed > RETRIES:
                    raise MeasurementError(f"{failed} repeats failed, the last: {type(exc).__name__}: {exc}") from exc
                continue
            if warm:
                warm = False  # the first pass only warms the bare connections
                continue
            kept.append(sample)
    return kept


def _figures(ms: int, backend: str, kept: Sequence[Repeat]) -> list[Figure]:
    """Per latency and backend: wall and own time over the bound, Twilio's join, and the speed-ups."""
    bounds = [r.bound for r in kept]
    figures = []
    for what, time_of in (("wall", _wall), ("own time", _own)):
        times = [time_of(r.search) for r in kept]
        ratios = paired_ratios(times, bounds)
        middle = kept[ratios.index(sorted(ratios)[len(ratios) // 2])]
        figures.append(
            Figure.bounded(
                f"{what} / critical-path bound @ {ms} ms ({backend})",
                median(ratios),
                "<=",
                1.15,
                {
                    "ms": median(times) * 1000,
                    "bound_ms": median(bounds) * 1000,
                    **_spread(ratios),
                    **_timing(middle.search),
                    **middle.detail,
                },
                ratios,
            )
        )
    replayed = [r.detail["replayed_pages_cpu_ms"] for r in kept]
    works = [r.detail["work_cpu_ms"] for r in kept]
    honesty = paired_ratios(replayed, works)
    figures.append(
        Figure(
            f"diagnosis @ {ms} ms ({backend}): pages' CPU replayed one by one / the work's CPU (the bound's)",
            median(honesty),
            reference={"replayed_ms": median(replayed), "work_ms": median(works), **_spread(honesty)},
            samples=honesty,
        )
    )
    joins = [r.twilio for r in kept if r.twilio is not None]
    if joins:
        twilio = paired_ratios([t.wall for t, _ in joins], [b for _, b in joins])
        figures.append(
            Figure.bounded(
                f"Twilio alone, wall / two-wave bound (price list with the first request) @ {ms} ms ({backend})",
                median(twilio),
                "<=",
                1.15,
                {
                    "wall_ms": median([t.wall for t, _ in joins]) * 1000,
                    "bound_ms": median([b for _, b in joins]) * 1000,
                    **_spread(twilio),
                },
                twilio,
            )
        )
    for what, time_of in (("wall", _wall), ("own time", _own)):
        sequentials = [time_of(r.sequential) for r in kept]
        concurrents = [time_of(r.search) for r in kept]
        speedups = paired_ratios(sequentials, concurrents)
        figures.append(
            Figure.bounded(
                f"speed-up over sequential, {what} @ {ms} ms ({backend})",
                median(speedups),
                ">=",
                4.0,
                {
                    "sequential_ms": median(sequentials) * 1000,
                    "concurrent_ms": median(concurrents) * 1000,
                    "structural_max": round(kept[-1].structural, 2),
                    **_spread(speedups),
                },
                speedups,
            )
        )
    return figures


def _wall(timing: Timing) -> float:
    return timing.wall


def _own(timing: Timing) -> float:
    return timing.own


def _timing(timing: Timing) -> dict[str, float]:
    """A timed search's parts, in ms (reference values)."""
    return {
        "wall_ms": timing.wall * 1000,
        "cpu_ms": timing.cpu * 1000,
        "loop_idle_ms": timing.idle * 1000,
        "descheduled_ms": timing.descheduled * 1000,
    }


def _spread(ratios: Sequence[float]) -> dict[str, float]:
    """The range of the repeats' ratios (the machine is shared: the median is the figure, the range its noise)."""
    return {"min": round(min(ratios), 3), "max": round(max(ratios), 3)}


async def traced_search(server: SandboxProcess) -> dict[str, float]:
    """One fan-out search, traced: wall, the client's CPU, the event loop's waits, the rest, the emulators' CPU."""
    before = json.loads(server.command("stats"))
    timing, _, _ = await concurrent_search(server)
    after = json.loads(server.command("stats"))
    return {
        "wall_ms": timing.wall * 1000,
        "client_cpu_ms": timing.cpu * 1000,
        "loop_idle_ms": timing.idle * 1000,
        "descheduled_ms": timing.descheduled * 1000,
        "server_cpu_ms": (after["cpu_s"] - before["cpu_s"]) * 1000,
        "rendered": after["rendered"] - before["rendered"],
    }


async def _diagnose(server: SandboxProcess, ms: int, backend: str, repeats: int) -> Figure:
    """The same search against live emulators and against their pre-rendered answers: what the emulators cost."""
    traces: dict[str, list[dict[str, float]]] = {"live": [], "prerendered": []}
    for _ in range(repeats):
        for mode, kept in traces.items():
            server.command(f"mode {mode}")
            kept.append(await traced_search(server))
    server.command("mode prerendered")
    ratios = paired_ratios([t["wall_ms"] for t in traces["live"]], [t["wall_ms"] for t in traces["prerendered"]])
    reference: dict[str, float | int | str] = {}
    for mode, kept in traces.items():
        for key in kept[0]:
            reference[f"{mode}_{key}"] = median([t[key] for t in kept])
    return Figure(
        f"diagnosis @ {ms} ms ({backend}): wall with live emulators / pre-rendered",
        median(ratios),
        reference=reference,
        samples=ratios,
    )


async def _measure(
    server: SandboxProcess, latencies: Sequence[float], repeats: int, traces: int, result: ScenarioResult, backend: str
) -> None:
    server.command("mode prerendered")  # the recording search renders every answer once
    wire = await _record(server, repeats)
    for latency in latencies:
        ms = round(latency * 1000)
        server.command(f"latency {latency}")
        wire.latency = latency
        await concurrent_search(server)  # warm-up: imports, sandbox views, code paths, recordings
        await sequential_search(server)
        try:
            result.figures.append(await _diagnose(server, ms, backend, traces))
            result.figures.extend(_figures(ms, backend, await _repeats(server, wire, repeats)))
        except MeasurementError as exc:
            result.notes.append(f"{backend} @ {ms} ms: not measured: {exc}")
    result.notes.append(
        f"{backend}: pages: "
        + ", ".join(f"{pid}={n}" for pid, n in wire.pages.items())
        + "; CPU ms per page (fetch+normalize): "
        + ", ".join(f"{pid}={f * 1000:.1f}+{n * 1000:.1f}" for pid, (f, n) in wire.cpu.items())
    )


def run(quick: bool) -> ScenarioResult:
    """Run the scenario on asyncio and trio (quick: 2 repeats; full: 15, for a steadier median on a shared machine)."""
    result = ScenarioResult("fan-out")
    repeats, traces = (2, 1) if quick else (15, 5)
    with sandbox_process() as server, cores_apart():
        for backend in BACKENDS:
            try:
                anyio.run(_measure, server, (0.020, 0.080), repeats, traces, result, backend, backend=backend)
            except Exception as exc:  # one backend failing still leaves the other's figures
                result.notes.append(f"{backend}: failed: {type(exc).__name__}: {exc}"[:300])
    result.notes.append(
        f"full garbage collections inside timed searches: {FULL_GC.count} "
        "(each timed search starts after gc.collect(), like every timed run in this harness)"
    )
    result.notes.append(DROPS.note())
    result.notes.append("structural_max = round trips asked one at a time / unavoidable waves")
    if not result.figures:
        raise MeasurementError("; ".join(result.notes))
    return result
