"""Scenario 1: the concurrent fan-out against its critical path, and against asking one thing at a time.

The three sandboxes are served on loopback by a separate process (``_sandbox_server.py``), so the
server's CPU never competes with the client for this interpreter's GIL, with ``Faults(latency=L)``
added to every request. Inventories are sized so that a US search needs 16 Vobiz pages
(``per_page=100``), a 5-page Bird token chain (99 a page), IdentityCall's one fan-out of 4 type
requests and Twilio's two waves: its country resource (with the Pricing API's list requested alongside),
then its 2 US types at once (Local at its 30-number cap, TollFree).

**Critical-path lower bound** (per repeat, from round trips measured in that repeat):

* ``first(p)``: p's first round trip as the fan-out makes it, sent together with every other provider's
  first request (the first wave: Vobiz page 1, Bird page 1, IdentityCall's 4 type requests), bare
  (bodies read, not parsed), on warm connections. The emulators share one process and this machine's two
  cores, so a request answered alongside five others comes back later than one alone, for any client;
* ``rtt(p)``: one bare round trip of a later page, alone; ``wave(p)``: ``page_concurrency`` of them at once;
* ``decode(p)``: CPU to decode one page's JSON (``numbroker.adapters._json.loads``): a chain cannot ask for page
  n+1 before reading page n's token, nor normalize a page before decoding it;
* ``norm(p)``: CPU to normalize one page (records → offers), measured once in the run;
* chain bound: Bird, ``first + (pages-1) × rtt + pages × decode + norm`` (its chain is sequential);
  Vobiz, ``first + decode + ceil((pages-1)/page_concurrency) × wave + decode + norm``; IdentityCall,
  ``first + decode + norm``; Twilio, ``first + decode + wave + decode + norm`` (``first``: the country
  resource and the price list sent together; ``wave``: its type requests at once);
* CPU bound = the sum over every page of every provider of its fetch+normalize CPU (one event loop);
* **bound = max(chain bound, CPU bound)**. Target: wall / bound ≤ 1.15.

**Sequential baseline**: the same adapters, one provider after another (a ``Searcher`` per provider),
one request at a time (a subclass with ``page_concurrency = 1``: numbered pages, and IdentityCall's
per-type requests). Target: sequential / concurrent ≥ 4. The structural maximum (round trips asked one
at a time / critical waves) is reported beside it.

**The price join adds no round trip**: Twilio searched alone, wall / its own two-wave chain bound
(target ≤ 1.15). Were the price list fetched after the search instead of with its first request, the
wall would need a third round trip (about 1.5× the bound at 80 ms).
"""

from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import anyio
import httpx
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
SERVER = Path(__file__).with_name("_sandbox_server.py")


class SandboxProcess:
    """The sandbox server subprocess: urls, credentials and a latency knob."""

    def __init__(self) -> None:
        spec = json.dumps({"seed": SEED, "size": SIZES})
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


async def concurrent_search(server: SandboxProcess) -> tuple[float, dict[str, int], int]:
    """Wall seconds of one fan-out search; pages per provider; offers found."""
    async with Searcher(build(server), timeout=120, own_providers=True) as searcher:
        with FULL_GC.timed():
            started = time.perf_counter()
            result = await searcher.search(QUERY)
            elapsed = time.perf_counter() - started
    if result.status.value != "complete":
        raise RuntimeError(f"fan-out search was {result.status.value}: {[r.error for r in result.failures]}")
    return elapsed, {r.provider: r.pages for r in result.providers}, len(result.offers)


async def sequential_search(server: SandboxProcess) -> tuple[float, int]:
    """Wall seconds of the same search asking one provider after another, one page at a time."""
    total = 0.0
    offers = 0
    for provider in build(server, sequential=True):
        async with Searcher([provider], timeout=120, own_providers=True) as searcher:
            with FULL_GC.timed():
                started = time.perf_counter()
                result = await searcher.search(QUERY)
                total += time.perf_counter() - started
        if result.status.value != "complete":
            raise RuntimeError(f"sequential search of {provider.id} was {result.status.value}")
        offers += len(result.offers)
    return total, offers


async def alone_search(server: SandboxProcess, pid: str) -> float:
    """Wall seconds of one search of provider ``pid`` alone (same query, same served sandboxes)."""
    provider = get_provider_class(pid)(env=server.env, base_url=server.urls[pid])
    async with Searcher([provider], timeout=120, own_providers=True) as searcher:
        with FULL_GC.timed():
            started = time.perf_counter()
            result = await searcher.search(QUERY)
            elapsed = time.perf_counter() - started
    if result.status.value != "complete":
        raise RuntimeError(f"{pid} search alone was {result.status.value}")
    return elapsed


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


async def bare_round_trips(
    client: httpx.AsyncClient, requests: Sequence[httpx.Request]
) -> tuple[list[float], list[bytes]]:
    """The requests sent at once (bodies read, nothing parsed): seconds until each one was done, and the bodies."""
    bodies: list[bytes] = [b""] * len(requests)
    done: list[float] = [0.0] * len(requests)

    async def one(index: int, request: httpx.Request) -> None:
        response = await client.send(client.build_request("GET", request.url, headers=request.headers))
        bodies[index] = await response.aread()
        done[index] = time.perf_counter() - started

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for index, request in enumerate(requests):
            tg.start_soon(one, index, request)
    return done, bodies


async def best_round_trip(client: httpx.AsyncClient, requests: Sequence[httpx.Request], tries: int = 3) -> float:
    """The fastest of ``tries`` bare round trips (the bound must not be inflated by a noisy sample)."""
    return min([max((await bare_round_trips(client, requests))[0]) for _ in range(tries)])


async def best_first_wave(
    client: httpx.AsyncClient, firsts: Mapping[str, Sequence[httpx.Request]], tries: int = 3
) -> dict[str, float]:
    """Per provider, the fastest of ``tries`` of its first requests done, sent with every other provider's."""
    wave = [(pid, request) for pid, requests in firsts.items() for request in requests]
    best: dict[str, float] = {}
    for _ in range(tries):
        done, _ = await bare_round_trips(client, [request for _, request in wave])
        mine: dict[str, float] = {}
        for (pid, _), seconds in zip(wave, done, strict=True):
            mine[pid] = max(mine.get(pid, 0.0), seconds)
        for pid, seconds in mine.items():
            best[pid] = min(best.get(pid, seconds), seconds)
    return best


def decode_cpu(body: bytes, repeats: int) -> float:
    """CPU seconds to decode one page's JSON the way the adapters do (Decimal numbers)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        loads("bench", body)
        times.append(time.perf_counter() - started)
    return median(times)


async def page_cpu(
    server: SandboxProcess, pid: str, bodies: dict[str, bytes], fallback: bytes, repeats: int
) -> tuple[float, float]:
    """CPU seconds to fetch (httpx plumbing + JSON + envelope) and to normalize one page, via a replay transport.

    The replayed requests never reach a vendor, so the adapter's rate limit is lifted: waiting for it is
    not CPU (IdentityCall's allows 60 requests a minute, fewer than the repeats ask for).
    """

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bodies.get(str(request.url), fallback))

    adapter = get_provider_class(pid)
    cls = cast(type[Provider], type(f"Unlimited{adapter.__name__}", (adapter,), {"rate_limit": None}))
    provider = cls(env=server.env, base_url=server.urls[pid], transport=httpx.MockTransport(handle))
    cursor: int | str | None = 2 if provider.paging == "numbered" else None
    fetch_times: list[float] = []
    norm_times: list[float] = []
    raw: RawPage | None = None
    async with provider:
        for _ in range(repeats):
            started = time.perf_counter()
            raw = await provider._fetch_page(QUERY, cursor)
            fetch_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            await normalize_page(provider, raw, 2, QUERY, set(), None)
            norm_times.append(time.perf_counter() - started)
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


async def _measure(server: SandboxProcess, latencies: Sequence[float], repeats: int, result: ScenarioResult) -> None:
    # Record the wire once (no latency) to find representative requests and their bodies.
    server.command("latency 0")
    seen: list[httpx.Request] = []
    providers = build(server, transport=RecordingTransport(seen))
    async with Searcher(providers, timeout=120, own_providers=True) as searcher:
        await searcher.search(QUERY)
    samples = {p.id: representative(p, seen) for p in providers}
    firsts = {pid: first for pid, (first, _, _) in samples.items()}
    cpu: dict[str, tuple[float, float]] = {}
    decode: dict[str, float] = {}
    async with httpx.AsyncClient() as client:
        for pid, (first, single, _) in samples.items():
            _, bodies = await bare_round_trips(client, single)
            by_url = {str(r.url): body for r, body in zip(single, bodies, strict=True)}
            if pid == "twilio":  # its page also reads the country resource and the price list
                _, leading = await bare_round_trips(client, first)
                by_url.update({str(r.url): body for r, body in zip(first, leading, strict=True)})
            cpu[pid] = await page_cpu(server, pid, by_url, bodies[0], repeats=max(5, 2 * repeats))
            decode[pid] = max(decode_cpu(body, repeats=max(5, 2 * repeats)) for body in bodies)

    pages: dict[str, int] = {}
    for latency in latencies:
        server.command(f"latency {latency}")
        await concurrent_search(server)  # warm-up: imports, sandbox views, code paths
        walls: list[float] = []
        bounds: list[float] = []
        sequentials: list[float] = []
        details: list[dict[str, float]] = []
        twilio_walls: list[float] = []
        twilio_bounds: list[float] = []
        structural = 0.0
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32)) as client:
            for repeat in range(repeats + 1):
                # Bare round trips on warm connections, right before the searches they bound.
                first_hops = await best_first_wave(client, firsts)
                rtts = {
                    pid: (first_hops[pid], await best_round_trip(client, single), await best_round_trip(client, wave))
                    for pid, (_, single, wave) in samples.items()
                }
                wall, pages, offers = await concurrent_search(server)
                sequential, sequential_offers = await sequential_search(server)
                if offers != sequential_offers:
                    raise RuntimeError(f"concurrent found {offers} offers, sequential {sequential_offers}")
                if repeat == 0:
                    continue  # the first pass only warms the bare connections
                chain = 0.0
                critical = ""
                total_rounds = 0
                critical_waves = 0
                for provider in providers:
                    bound, unavoidable, rounds = chain_bound(
                        provider,
                        pages[provider.id],
                        len(samples[provider.id][2] if provider.id == "twilio" else firsts[provider.id]),
                        *rtts[provider.id],
                        decode[provider.id],
                        cpu[provider.id][1],
                    )
                    total_rounds += rounds
                    critical_waves = max(critical_waves, unavoidable)
                    if bound > chain:
                        chain, critical = bound, provider.id
                    if provider.id == "twilio":
                        twilio_walls.append(await alone_search(server, "twilio"))
                        twilio_bounds.append(bound)
                cpu_total = sum(pages[p.id] * sum(cpu[p.id]) for p in providers)
                walls.append(wall)
                bounds.append(max(chain, cpu_total))
                sequentials.append(sequential)
                structural = total_rounds / critical_waves
                details.append(
                    {
                        "chain_ms": chain * 1000,
                        "cpu_ms": cpu_total * 1000,
                        f"{critical}_first_ms": rtts[critical][0] * 1000,
                        f"{critical}_rtt_ms": rtts[critical][1] * 1000,
                        f"{critical}_wave_ms": rtts[critical][2] * 1000,
                        f"{critical}_decode_ms": decode[critical] * 1000,
                    }
                )
        ms = round(latency * 1000)
        ratios = paired_ratios(walls, bounds)
        middle = details[ratios.index(sorted(ratios)[len(ratios) // 2])]
        result.figures.append(
            Figure.bounded(
                f"wall / critical-path bound @ {ms} ms",
                median(ratios),
                "<=",
                1.15,
                {"wall_ms": median(walls) * 1000, "bound_ms": median(bounds) * 1000, **middle},
                ratios,
            )
        )
        if twilio_walls:
            joins = paired_ratios(twilio_walls, twilio_bounds)
            result.figures.append(
                Figure.bounded(
                    f"Twilio alone, wall / two-wave bound (price list with the first request) @ {ms} ms",
                    median(joins),
                    "<=",
                    1.15,
                    {"wall_ms": median(twilio_walls) * 1000, "bound_ms": median(twilio_bounds) * 1000},
                    joins,
                )
            )
        speedups = paired_ratios(sequentials, walls)
        result.figures.append(
            Figure.bounded(
                f"speed-up over sequential @ {ms} ms",
                median(speedups),
                ">=",
                4.0,
                {
                    "sequential_ms": median(sequentials) * 1000,
                    "concurrent_ms": median(walls) * 1000,
                    "structural_max": round(structural, 2),
                },
                speedups,
            )
        )
    result.notes.append(
        f"full garbage collections inside timed searches: {FULL_GC.count} "
        "(each timed search starts after gc.collect(), like every timed run in this harness)"
    )
    result.notes.append(
        "pages: "
        + ", ".join(f"{pid}={n}" for pid, n in pages.items())
        + "; CPU ms per page (fetch+normalize): "
        + ", ".join(f"{pid}={f * 1000:.1f}+{n * 1000:.1f}" for pid, (f, n) in cpu.items())
        + "; structural_max = round trips asked one at a time / unavoidable waves"
    )


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 2 repeats; full: 15, for a steadier median on a shared machine)."""
    result = ScenarioResult("fan-out")
    repeats = 2 if quick else 15
    with sandbox_process() as server:
        anyio.run(_measure, server, (0.020, 0.080), repeats, result)
    return result
