"""Real processes for end-to-end tests: a sandbox server that outlives its clients, CLI runs to signal and rerun.

The server is ``numbroker sandbox serve`` in its own process, its fault knobs given through the
``NUMBROKER_SANDBOX_FAULTS`` environment variable (:data:`numbroker.sandbox.FAULTS_ENV`). Clients are
``numbroker ...`` subprocesses pointed at it by environment variables; they can be killed at the
moment their purchase request reaches the server, and rerun, while the server and what the account
owns survive. What the account owns is read from each sandbox's loopback-only ``GET /_sandbox/state``.

* :func:`start_sandbox_server` -> :class:`SandboxServer`: start the server and wait until it listens;
  its :attr:`~SandboxServer.providers` (base URLs, env), :meth:`~SandboxServer.client_env`,
  :meth:`~SandboxServer.owned`, :meth:`~SandboxServer.purchases`, :meth:`~SandboxServer.wait_for_purchases`,
  :meth:`~SandboxServer.wait_until`, :meth:`~SandboxServer.set_faults`;
* :func:`start_cli` -> :class:`CliRun` (signal it, wait for it) and :func:`run_cli` -> :class:`CliResult`;
* :func:`signal_at_purchase`: start a run, send it a signal once its purchase request has reached the
  server, and return what it left;
* :func:`run_on_a_terminal`: a run whose streams are a pseudo-terminal of a given size, answering its
  ``[y/N]`` question (or pressing Ctrl-C at it), for what a person sees;
* :func:`with_file_size_limit`: a command run under ``RLIMIT_FSIZE`` (a full disk: writes past the
  limit fail with ``EFBIG``), also ``file_size_limit=`` of :func:`start_cli` and :func:`run_cli`.

Every wait has a deadline and polls; nothing sleeps a fixed time to synchronize. POSIX only (signals,
``resource``). Needs the ``sandbox`` and ``cli`` extras. Importing this module does not import pytest.

Example:
    >>> with start_sandbox_server(faults=Faults(hold_purchase_seconds=600)) as server:  # doctest: +SKIP
    ...     env = server.client_env(data_dir=tmp_path / "data")
    ...     killed = signal_at_purchase(server, ["buy-cheapest", ...], env=env, cwd=tmp_path)
    ...     server.owned()  # what the killed run left the account owning
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from numbroker.sandbox import Faults

__all__ = [
    "CliResult",
    "CliRun",
    "ServedProvider",
    "SandboxServer",
    "run_cli",
    "run_on_a_terminal",
    "signal_at_purchase",
    "start_cli",
    "start_sandbox_server",
    "with_file_size_limit",
]

DEFAULT_TIMEOUT: Final = 120.0
"""Seconds a wait may take before it fails: generous, for a loaded machine."""
_POLL: Final = 0.05
_PROXY_VARS: Final = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_FAULTS_ENV: Final = "NUMBROKER_SANDBOX_FAULTS"  # numbroker.sandbox.FAULTS_ENV, without importing Starlette


@dataclass(frozen=True)
class ServedProvider:
    """One provider's sandbox as the server process serves it.

    Attributes:
        id: The provider id.
        base_url: The vendor base URL (what ``<ID>_BASE_URL`` is set to).
        origin: ``http://127.0.0.1:PORT``, where the inspection endpoints live.
        env: The variables that point a client at it (credentials and ``<ID>_BASE_URL``).
    """

    id: str
    base_url: str
    origin: str
    env: dict[str, str]


@dataclass(frozen=True)
class CliResult:
    """How a ``numbroker`` subprocess ended.

    Attributes:
        args: The arguments after ``numbroker``.
        returncode: Its exit status; ``-N`` when signal N ended it.
        stdout: What it printed.
        stderr: What it printed on stderr.
    """

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Parse stdout as JSON (a run with ``--format json``).

        Raises:
            ValueError: stdout is not one JSON document.
        """
        return json.loads(self.stdout)


class CliRun:
    """A running ``numbroker`` subprocess (from :func:`start_cli`); :meth:`wait` collects its output.

    Its stdout and stderr are pipes drained by threads as it runs, so a run that prints a lot is
    never blocked while the test waits on the server, and a file-size limit never applies to them.
    """

    def __init__(self, args: Sequence[str], process: subprocess.Popen[bytes]) -> None:
        self.args = tuple(args)
        self.process = process
        self._result: CliResult | None = None
        self._output: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self._drains = [
            threading.Thread(target=_drain, args=(stream, self._output[name]), daemon=True)
            for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
        ]
        for drain in self._drains:
            drain.start()

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def poll(self) -> int | None:
        """Its exit status, or None while it runs."""
        return self.process.poll()

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` (``signal.SIGTERM``, ``signal.SIGKILL``, ...) unless it has already ended."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> CliResult:
        """Wait for it to end and collect its output.

        Args:
            timeout: Seconds to wait; then it is killed and :class:`TimeoutError` raised.

        Returns:
            How it ended.

        Raises:
            TimeoutError: It was still running after ``timeout`` (it has been killed).
        """
        if self._result is None:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self._join()
                raise TimeoutError(
                    f"numbroker {' '.join(self.args)} was still running after {timeout}s; killed it. "
                    f"stderr: {self._text('stderr')[-2000:]}"
                ) from None
            self._join()
            self._result = CliResult(self.args, self.process.returncode, self._text("stdout"), self._text("stderr"))
        return self._result

    def _join(self) -> None:
        for drain in self._drains:
            drain.join()

    def _text(self, name: str) -> str:
        return self._output[name].decode("utf-8", errors="replace")

    def __enter__(self) -> CliRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._result is None:
            if self.process.poll() is None:
                self.process.kill()
            self.wait()


def _drain(stream: IO[bytes] | None, into: bytearray) -> None:
    if stream is None:
        return
    with stream:
        while chunk := os.read(stream.fileno(), 65536):
            into += chunk


def with_file_size_limit(command: Sequence[str], max_bytes: int) -> list[str]:
    """Return ``command`` wrapped so it runs with ``RLIMIT_FSIZE`` at ``max_bytes``.

    A write that would make any file larger fails with ``EFBIG`` ("File too large"), as on a full
    disk; ``SIGXFSZ`` is ignored, so the process is not killed by it (Python ignores it anyway). The
    limit is set by a small Python trampoline that then executes the command (rather than a
    ``preexec_fn``, which is unsafe in a parent with threads, such as a test running a server).

    Args:
        command: The program and its arguments.
        max_bytes: The largest size, in bytes, any file may be written to.

    Returns:
        The command to run instead.

    Raises:
        ValueError: ``max_bytes`` is negative.
    """
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    trampoline = (
        "import os, resource, signal, sys; "
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "limit = int(sys.argv[1]); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
        "os.execvp(sys.argv[2], sys.argv[2:])"
    )
    return [sys.executable, "-c", trampoline, str(max_bytes), *command]


def start_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str],
    file_size_limit: int | None = None,
    prefix: Sequence[str] = (),
) -> CliRun:
    """Start ``numbroker ARGS`` (this interpreter's ``python -m numbroker``) as a subprocess.

    Args:
        args: The arguments after ``numbroker``, e.g. ``["buy-cheapest", "--country", "US", ...]``.
        env: Its whole environment (see :meth:`SandboxServer.client_env`).
        cwd: Its working directory (where the default audit log goes).
        file_size_limit: Run it under ``RLIMIT_FSIZE`` at this many bytes (:func:`with_file_size_limit`).
        prefix: A command that runs it (e.g. ``["faketime", "-f", "+10m"]``: a host whose clock is ahead).

    Returns:
        The running process; stdin is closed (it never waits for a prompt).
    """
    command = [sys.executable, "-m", "numbroker", *args]
    if file_size_limit is not None:
        command = with_file_size_limit(command, file_size_limit)
    command = [*prefix, *command]
    process = subprocess.Popen(
        command, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return CliRun(args, process)


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str],
    timeout: float = DEFAULT_TIMEOUT,
    file_size_limit: int | None = None,
    prefix: Sequence[str] = (),
) -> CliResult:
    """Run ``numbroker ARGS`` to its end (see :func:`start_cli`).

    Raises:
        TimeoutError: It was still running after ``timeout`` seconds (it has been killed).
    """
    return start_cli(args, env=env, cwd=cwd, file_size_limit=file_size_limit, prefix=prefix).wait(timeout)


def run_on_a_terminal(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
    columns: int = 80,
    rows: int = 24,
    stderr: bool = True,
    answer: str | None = None,
    interrupt: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[int, str]:
    """Run ``numbroker ARGS`` with stdin and stdout on a ``columns`` × ``rows`` pseudo-terminal, as a person would.

    Args:
        args: The arguments after ``numbroker``.
        env: Its whole environment.
        cwd: Its working directory.
        columns: The terminal's width.
        rows: The terminal's height.
        stderr: Whether stderr is the terminal too (False: it is thrown away, as ``2>/dev/null``).
        answer: Typed, with Enter, once a ``[y/N]`` question shows (None: never answered).
        interrupt: Press Ctrl-C (SIGINT) at the question instead of answering it.
        timeout: Seconds the run may stay silent, and then take to end.

    Returns:
        The exit code and everything the terminal showed (escape sequences included).
    """
    import fcntl
    import pty
    import select
    import struct
    import termios

    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "numbroker", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary if stderr else subprocess.DEVNULL,
        cwd=cwd,
        env=dict(env),
    )
    os.close(secondary)
    screen, asked = b"", answer is None and not interrupt
    try:
        while True:
            if not select.select([primary], [], [], timeout)[0]:
                raise TimeoutError(f"silent for {timeout:g} s; the screen so far: {screen.decode(errors='replace')}")
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if not asked and b"[y/N]" in screen:
                if interrupt:
                    process.send_signal(signal.SIGINT)  # what Ctrl-C at the question does; no Enter follows
                else:
                    os.write(primary, (answer or "").encode() + b"\n")
                asked = True
        return process.wait(timeout=timeout), screen.decode(errors="replace")
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()


class SandboxServer:
    """A ``numbroker sandbox serve`` process (from :func:`start_sandbox_server`) and its sandboxes' state.

    Attributes:
        process: The server process.
        providers: Provider id -> :class:`ServedProvider`.
        exports: Every variable the server printed (all providers' credentials and base URLs).
        stderr_path: Where the server's stderr goes.
    """

    def __init__(
        self,
        process: subprocess.Popen[str],
        providers: Mapping[str, ServedProvider],
        exports: Mapping[str, str],
        stderr_path: Path,
    ) -> None:
        self.process = process
        self.providers = dict(providers)
        self.exports = dict(exports)
        self.stderr_path = stderr_path
        self._http = httpx.Client(timeout=30.0, trust_env=False)

    # -- clients -------------------------------------------------------------------------------

    def client_env(
        self,
        base: Mapping[str, str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        **extra: str,
    ) -> dict[str, str]:
        """The environment for a client of this server.

        Args:
            base: The environment to start from (default ``os.environ``); every variable a known
                provider reads, the proxy variables and ``NUMBROKER_SANDBOX_FAULTS`` are dropped from it.
            data_dir: Set ``XDG_DATA_HOME`` to this directory, so the client's default data (the
                ledger) lives there and not in the user's own (platformdirs on Linux).
            **extra: Variables to set last (e.g. ``NUMBROKER_LEDGER="/tmp/x/ledger.sqlite3"``).

        Returns:
            The whole environment: ``base`` less the above, plus :attr:`exports` and ``extra``.
        """
        from numbroker import get_provider_class, provider_ids

        drop = {_FAULTS_ENV, *_PROXY_VARS, *(v.lower() for v in _PROXY_VARS)}
        for pid in provider_ids():
            drop.update(get_provider_class(pid).env_vars())
        env = {k: v for k, v in (os.environ if base is None else base).items() if k not in drop}
        env.update(self.exports)
        if data_dir is not None:
            env["XDG_DATA_HOME"] = os.fspath(data_dir)
        env.update(extra)
        return env

    # -- inspection ----------------------------------------------------------------------------

    def state(self, provider: str) -> dict[str, Any]:
        """One sandbox's ``GET /_sandbox/state`` (see :meth:`numbroker.sandbox.Sandbox.state`)."""
        r = self._http.get(self.providers[provider].origin + "/_sandbox/state")
        r.raise_for_status()
        state: dict[str, Any] = r.json()
        return state

    def states(self) -> dict[str, dict[str, Any]]:
        """Every sandbox's state, by provider id."""
        return {pid: self.state(pid) for pid in self.providers}

    def owned(self) -> dict[str, list[str]]:
        """Provider id -> the E.164 numbers the account owns there (every commit, listed or not)."""
        return {pid: [n["e164"] for n in state["owned"]] for pid, state in self.states().items()}

    def purchases(self) -> list[dict[str, Any]]:
        """Every committed purchase, each with its ``provider`` (see :meth:`numbroker.sandbox.Sandbox.state`)."""
        return [{"provider": pid, **p} for pid, state in self.states().items() for p in state["purchases"]]

    def purchase_requests(self, provider: str | None = None, *, endpoint: str = "purchase") -> dict[str, int]:
        """Purchase requests (or ``endpoint``'s: ``release``...) ``received``, ``answered`` and ``abandoned``."""
        total = {"received": 0, "answered": 0, "abandoned": 0}
        for pid in [provider] if provider else list(self.providers):
            counts = self.state(pid)["requests"].get(endpoint, {})
            for key in total:
                total[key] += counts.get(key, 0)
        return total

    def wait_until(
        self,
        check: Callable[[dict[str, dict[str, Any]]], Any],
        what: str,
        *,
        run: CliRun | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Any:
        """Poll :meth:`states` until ``check(states)`` is truthy; return that value.

        Args:
            check: Called with provider id -> state.
            what: What is awaited (for the error message).
            run: A client that must still be running meanwhile.
            timeout: Seconds before giving up.

        Raises:
            RuntimeError: ``run`` ended first, or the server process died.
            TimeoutError: ``timeout`` passed.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox server exited ({self.process.returncode}) while waiting for {what}")
            value = check(self.states())
            if value:
                return value
            if run is not None and run.poll() is not None:
                result = run.wait()
                raise RuntimeError(
                    f"numbroker {' '.join(run.args)} exited {result.returncode} before {what}. "
                    f"stdout: {result.stdout[-2000:]} stderr: {result.stderr[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout}s for {what}")
            time.sleep(_POLL)

    def wait_for_purchases(
        self,
        count: int,
        *,
        provider: str | None = None,
        run: CliRun | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        endpoint: str = "purchase",
    ) -> None:
        """Wait until ``count`` purchase requests (or ``endpoint``'s) in all (or at ``provider``) reached the server.

        A request counts as soon as the sandbox has read it, before any fault (so while a
        ``hold_purchase_seconds`` holds it, its client is waiting for the answer).

        Raises:
            RuntimeError: ``run`` ended first, or the server died.
            TimeoutError: ``timeout`` passed.
        """

        def reached(states: dict[str, dict[str, Any]]) -> bool:
            chosen = [states[provider]] if provider else list(states.values())
            received: int = sum(s["requests"].get(endpoint, {}).get("received", 0) for s in chosen)
            return received >= count

        self.wait_until(reached, f"{count} {endpoint} request(s) to reach the sandbox", run=run, timeout=timeout)

    def set_faults(self, faults: Faults, provider: str | None = None) -> None:
        """Replace the fault knobs of one running sandbox (or all): ``PUT /_sandbox/faults``."""
        # json.dumps, not httpx's json=: a knob that never ends (math.inf) travels as Infinity.
        body = json.dumps(faults.to_json())
        for pid in [provider] if provider else list(self.providers):
            r = self._http.put(
                self.providers[pid].origin + "/_sandbox/faults",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            r.raise_for_status()

    # -- lifetime ------------------------------------------------------------------------------

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server: SIGINT (it shuts down cleanly), then SIGKILL after ``timeout`` seconds."""
        self._http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass
class _Exports:
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False


def _read_exports(stream: Iterable[str], exports: _Exports) -> None:
    for line in stream:
        with exports.changed:
            exports.lines.append(line.rstrip("\n"))
            exports.changed.notify_all()
    with exports.changed:
        exports.closed = True
        exports.changed.notify_all()


def start_sandbox_server(
    *,
    faults: Faults | Mapping[str, Faults] | None = None,
    seed: int = 0,
    port: int = 0,
    env: Mapping[str, str] | None = None,
    stderr_path: str | os.PathLike[str] | None = None,
    ready_timeout: float = DEFAULT_TIMEOUT,
    owned: int = 0,
) -> SandboxServer:
    """Start ``numbroker sandbox serve`` in its own process and wait until every sandbox listens.

    It serves every provider that ships a sandbox, each on its own loopback port, until
    :meth:`SandboxServer.stop`; clients may be killed and rerun meanwhile, the purchase state lives on.

    Args:
        faults: Knobs for every sandbox (one :class:`~numbroker.sandbox.Faults`), or per provider id;
            passed as ``NUMBROKER_SANDBOX_FAULTS``. Change them later with :meth:`SandboxServer.set_faults`.
        seed: Inventory seed.
        port: First port (each provider gets its own: port, port+1, ...); 0 picks free ports.
        env: The server's environment (default ``os.environ``).
        stderr_path: Where its stderr goes (default: a temporary file).
        ready_timeout: Seconds to wait for it to listen.
        owned: Numbers each account owns from the start (``sandbox serve --owned``).

    Returns:
        The running server.

    Raises:
        RuntimeError: It exited during startup (its stderr is quoted).
        TimeoutError: It did not print every provider's base URL within ``ready_timeout``.
    """
    from numbroker import get_provider_class
    from numbroker.sandbox import sandboxed_ids

    path = Path(stderr_path) if stderr_path is not None else _temporary_log()
    command = [sys.executable, "-m", "numbroker", "sandbox", "serve", "--seed", str(seed), "--port", str(port)]
    if owned:
        command += ["--owned", str(owned)]
    with path.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            command,
            env=_server_env(env, faults),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        )
    assert process.stdout is not None
    exports = _Exports()
    threading.Thread(target=_read_exports, args=(process.stdout, exports), daemon=True).start()
    wanted = {pid: get_provider_class(pid).base_url_env for pid in sandboxed_ids()}
    printed = _wait_for_exports(process, exports, set(wanted.values()), path, ready_timeout)
    providers = {pid: _served_provider(pid, printed[var], printed) for pid, var in wanted.items()}
    return SandboxServer(process, providers, printed, path)


def _temporary_log() -> Path:
    handle, name = tempfile.mkstemp(prefix="numbroker-sandbox-", suffix=".log")
    os.close(handle)
    return Path(name)


def _server_env(env: Mapping[str, str] | None, faults: Faults | Mapping[str, Faults] | None) -> dict[str, str]:
    """The server's environment: ``env`` (default ``os.environ``), unbuffered, with ``faults`` as its only knobs."""
    server_env = {k: v for k, v in (os.environ if env is None else env).items() if k != _FAULTS_ENV}
    server_env["PYTHONUNBUFFERED"] = "1"
    if faults is not None:
        from numbroker.sandbox import dump_faults

        server_env[_FAULTS_ENV] = dump_faults(faults)
    return server_env


def _wait_for_exports(
    process: subprocess.Popen[str], exports: _Exports, names: set[str], path: Path, timeout: float
) -> dict[str, str]:
    """The ``export NAME=value`` lines the server printed, once they name every one of ``names``.

    Raises:
        RuntimeError: The server exited first (its stderr, read from ``path``, is quoted).
        TimeoutError: ``timeout`` seconds passed (the server is killed).
    """
    deadline = time.monotonic() + timeout
    with exports.changed:
        while True:
            printed = dict(
                line.removeprefix("export ").split("=", 1) for line in exports.lines if line.startswith("export ")
            )
            if names <= printed.keys():
                return printed
            if exports.closed or process.poll() is not None:
                process.wait(timeout=30)
                raise RuntimeError(
                    f"numbroker sandbox serve exited ({process.returncode}) during startup: "
                    f"{path.read_text(encoding='utf-8', errors='replace')[-4000:]}"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                process.kill()
                process.wait()
                raise TimeoutError(f"numbroker sandbox serve did not start within {timeout}s")
            exports.changed.wait(min(left, 1.0))


def _served_provider(pid: str, base_url: str, printed: Mapping[str, str]) -> ServedProvider:
    """Provider ``pid`` as served at ``base_url``, with the printed variables that point a client at it."""
    from numbroker import get_provider_class

    parts = urlsplit(base_url)
    names = get_provider_class(pid).env_vars()
    return ServedProvider(
        id=pid,
        base_url=base_url,
        origin=f"{parts.scheme}://{parts.netloc}",
        env={k: v for k, v in printed.items() if k in names},
    )


def signal_at_purchase(
    server: SandboxServer,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str],
    sig: int = signal.SIGKILL,
    provider: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    endpoint: str = "purchase",
) -> CliResult:
    """Run ``numbroker ARGS``, send it ``sig`` once its purchase request has reached the server, and wait.

    ``endpoint`` names another account-changing request to wait for instead (``release``).

    The moment is the sandbox counting one more purchase request (at ``provider``, or anywhere)
    than before the run started. To be sure the request is still in flight then, serve with
    ``Faults(hold_purchase_seconds=...)``; ``hold_purchase_commit`` says whether the killed run's
    purchase is committed (``"before"``, ``"after"`` once the hold ends) or not (``"unless_gone"``).

    Args:
        server: The sandbox server.
        args: The arguments after ``numbroker``.
        env: The run's environment (:meth:`SandboxServer.client_env`).
        cwd: Its working directory.
        sig: The signal (``signal.SIGKILL``, ``signal.SIGTERM``, ``signal.SIGINT``, ...).
        provider: Wait for a purchase request at this provider only.
        timeout: Seconds for each wait (the request to arrive; the run to end after the signal).
        endpoint: The sandbox endpoint whose request is awaited (``purchase``, ``release``...).

    Returns:
        How the run ended (``returncode == -sig`` when the signal killed it).

    Raises:
        RuntimeError: The run ended before its purchase request reached the server.
        TimeoutError: A wait passed ``timeout``.
    """
    before = server.purchase_requests(provider, endpoint=endpoint)["received"]
    with start_cli(args, env=env, cwd=cwd) as run:
        server.wait_for_purchases(before + 1, provider=provider, run=run, timeout=timeout, endpoint=endpoint)
        run.send_signal(sig)
        return run.wait(timeout)
