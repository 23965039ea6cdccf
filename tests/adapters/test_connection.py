"""The connection: failures in the error tree, bounded bodies, no redirects, clients, secrets, posts, limits."""

from __future__ import annotations

import functools
import json
import logging

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbroker import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from numbroker.adapters import Connection
from numbroker.testing import InFlight

from .vendors import (
    FAST,
    QUERY,
    SECRET,
    Capped,
    NumberedWire,
    build,
    build_capped,
    collect,
    ids,
    numbered_server,
    numbers,
)


@pytest.mark.anyio
async def test_transport_errors_map_into_the_tree() -> None:
    """Timeouts and connection failures become ProviderTimeoutError and ProviderConnectionError."""

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderTimeoutError):
        await collect(build(NumberedWire, timeout))
    with pytest.raises(ProviderConnectionError):
        await collect(build(NumberedWire, refused))


@pytest.mark.anyio
@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"items": 3}', b'{"items": [', b"[]"])
async def test_garbage_bodies_are_response_errors(body: bytes) -> None:
    """Unparseable or wrongly shaped bodies raise ProviderResponseError, not a raw exception."""
    with pytest.raises(ProviderResponseError):
        await collect(build(NumberedWire, lambda r: httpx.Response(200, content=body)))


@pytest.mark.anyio
async def test_oversized_body_is_cut_off() -> None:
    """A body over the limit is cut off with a clear error."""
    big = json.dumps({"items": numbers(10), "pad": "x" * 5000}).encode()

    with pytest.raises(ProviderResponseError, match="limit"):
        await collect(build(NumberedWire, lambda r: httpx.Response(200, content=big), max_response_bytes=1000))


@pytest.mark.anyio
async def test_redirects_are_not_followed() -> None:
    """A 3xx is an error: credentials are never sent to another location."""
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://evil.example/steal"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    provider = NumberedWire(api_key=SECRET, http_client=client, retry=FAST)
    with pytest.raises(BadRequestError, match="redirect not followed"):
        await collect(provider)

    assert all("evil" not in h for h in hits)


@pytest.mark.anyio
async def test_injected_client_left_open_own_client_closed() -> None:
    """An injected client is the caller's to close; a client the provider created is closed by it."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(numbered_server(numbers(1))))
    async with NumberedWire(api_key="canary-key", http_client=client) as provider:
        await provider.search(QUERY)
    assert not client.is_closed

    own = NumberedWire(api_key="canary-key")
    created = own.client
    await own.aclose()
    assert created.is_closed
    await client.aclose()


@pytest.mark.anyio
async def test_secret_never_in_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    """Credentials are redacted from debug logs, error bodies that echo them, and reprs."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert SECRET in request.headers["Authorization"]
        return httpx.Response(401, json={"error": f"bad key {SECRET}"})

    caplog.set_level(logging.DEBUG, logger="numbroker")
    provider = build(NumberedWire, handler)
    with pytest.raises(AuthenticationError) as info:
        await collect(provider)

    assert SECRET not in str(info.value)
    assert SECRET not in info.value.body
    assert SECRET not in repr(info.value)
    assert SECRET not in repr(provider)
    assert caplog.records
    assert all(SECRET not in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_global_concurrency_limit_caps_requests_in_flight() -> None:
    """The searcher's max_concurrency bounds requests in flight across all providers."""
    from numbroker import Searcher

    probe = InFlight(numbered_server(numbers(80)))

    class Other(NumberedWire):
        id = "other"

    providers = [build(NumberedWire, probe), build(Other, probe)]
    async with Searcher(providers, max_concurrency=3) as searcher:
        result = await searcher.search(QUERY)

    assert 160 == len(result.offers)
    assert 3 == probe.peak


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
async def test_compressed_bodies_are_decoded_within_the_limit(encoding: str) -> None:
    """gzip and deflate bodies decode to the same records; the limit applies to the decoded size."""
    import gzip
    import zlib

    body = json.dumps({"items": numbers(5), "total": 5}).encode()
    wire = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": lambda b: b}[encoding](body)
    headers = {} if encoding == "identity" else {"Content-Encoding": encoding}

    class Streamed(httpx.AsyncByteStream):
        """The body in 7-byte network chunks (a class iterator: nothing is left unclosed when cut off)."""

        def __init__(self) -> None:
            self.chunks = [wire[i : i + 7] for i in range(0, len(wire), 7)]

        def __aiter__(self) -> Streamed:
            return self

        async def __anext__(self) -> bytes:
            if not self.chunks:
                raise StopAsyncIteration
            chunk: bytes = self.chunks.pop(0)
            return chunk

    def handler(request: httpx.Request) -> httpx.Response:
        assert "gzip" in request.headers["Accept-Encoding"]
        return httpx.Response(200, headers=headers, stream=Streamed())

    pages, _ = await collect(build(NumberedWire, handler))
    assert 5 == len(ids(pages))
    with pytest.raises(ProviderResponseError, match="limit"):
        await collect(build(NumberedWire, handler, max_response_bytes=len(body) - 1))


@pytest.mark.anyio
async def test_post_sends_a_form_encoded_body_with_data() -> None:
    """_post(url, data=...) sends application/x-www-form-urlencoded, with the provider's auth headers."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ok": True})

    async with build_capped(Capped, handler) as provider:
        response = await provider.connection.post(
            provider.connection.url("buy"), data={"PhoneNumber": "+14155550100", "A": "b c"}
        )

    assert 201 == response.status_code
    assert "application/x-www-form-urlencoded" == seen[0].headers["content-type"]
    assert b"PhoneNumber=%2B14155550100&A=b+c" == seen[0].content
    assert "POST" == seen[0].method


@pytest.mark.anyio
async def test_post_takes_json_or_data_not_both() -> None:
    async with build_capped(Capped, lambda r: httpx.Response(200)) as provider:
        with pytest.raises(ConfigurationError, match="json or data"):
            await provider.connection.post(provider.connection.url("buy"), json={"a": 1}, data={"a": "1"})


@pytest.mark.anyio
async def test_sent_is_set_as_the_request_is_handed_to_the_transport() -> None:
    """_get(url, sent=event): the event is set once the request reaches the transport, before its answer."""
    sent = anyio.Event()
    answer = anyio.Event()
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        order.append(f"transport saw it (sent={sent.is_set()})")
        await answer.wait()
        return httpx.Response(200, json={"items": [], "capped": False})

    async with build_capped(Capped, handler) as provider, anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(provider.connection.get, provider.connection.url("items"), sent=sent))
        with anyio.fail_after(10):  # never set would hang the test, not fail it
            await sent.wait()
        order.append("caller went on")
        answer.set()

    assert ["transport saw it (sent=True)", "caller went on"] == order


@pytest.mark.anyio
async def test_a_post_sends_extra_headers_beside_the_auth_headers() -> None:
    """post(headers=...) adds headers (an uncompressed answer, say); the provider's auth headers always go too."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with build(NumberedWire, handler) as provider:
        await provider.connection.post(provider.connection.url("buy"), json={}, headers={"Accept-Encoding": "identity"})

    assert "identity" == seen[0].headers["accept-encoding"]
    assert f"Key {SECRET}" == seen[0].headers["authorization"]


class _OneChunk(httpx.AsyncByteStream):
    """One network chunk (a class iterator: nothing is left unclosed when the read fails)."""

    def __init__(self, chunk: bytes) -> None:
        self.chunks = [chunk]

    def __aiter__(self) -> _OneChunk:
        return self

    async def __anext__(self) -> bytes:
        if not self.chunks:
            raise StopAsyncIteration
        return self.chunks.pop()


@pytest.mark.anyio
@pytest.mark.parametrize("streamed", [True, False])
async def test_an_answer_that_cannot_be_decompressed_is_a_response_error(streamed: bool) -> None:
    """A body that claims gzip and is not: never an httpx exception, whether streamed or made in memory."""
    body = b"\x1f\x8b not gzip"

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": "gzip"}
        if streamed:
            return httpx.Response(200, stream=_OneChunk(body), headers=headers)
        return httpx.Response(200, content=body, headers=headers)

    async with build_capped(Capped, handler) as provider:
        with pytest.raises(ProviderResponseError, match="not valid compressed data"):
            await provider.connection.post(provider.connection.url("buy"), json={})


def test_the_request_id_is_read_from_a_response_or_its_headers() -> None:
    response = httpx.Response(200, headers={"X-Request-Id": "r-1"})

    assert "r-1" == Connection.request_id(response)
    assert "r-2" == Connection.request_id({"request-id": "r-2"})
    assert Connection.request_id({}) is None


@pytest.mark.anyio
async def test_a_secret_added_to_the_connection_never_shows_and_a_short_one_is_refused() -> None:
    """An account id registered with add_secret is masked in errors like a credential; one too short is refused."""
    account = "AC0123456789abcdef"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": f"no account {account}"})

    async with build_capped(Capped, handler) as provider:
        provider.connection.add_secret(account, name="account_sid")
        with pytest.raises(ConfigurationError, match="capped: account_sid is shorter") as refused:
            provider.connection.add_secret("AC01", name="account_sid")
        with pytest.raises(NotFoundError) as caught:
            await provider.connection.get(provider.connection.url("Accounts", account))

    assert "AC01" not in str(refused.value)
    assert account not in str(caught.value) and account not in caught.value.body
    assert "no account ***" == caught.value.vendor_message


_URL_TEXT = st.text(alphabet=st.sampled_from("ab/?#&=%+: é~"), max_size=12)


@given(path=_URL_TEXT, query=_URL_TEXT, fragment=_URL_TEXT)
def test_the_logged_path_is_the_url_without_its_query(path: str, query: str, fragment: str) -> None:
    """The request log's URL is what httpx gives with the query removed, for any path, query and fragment."""
    from numbroker.adapters._connection import _without_query

    try:
        url = httpx.URL(f"https://api.example.test/{path}?{query}#{fragment}")
    except httpx.InvalidURL:
        return
    for each in (url, url.copy_with(query=None), url.copy_with(fragment=None), httpx.URL("https://h.test")):
        assert str(each.copy_with(query=None)) == _without_query(each)


@pytest.mark.anyio
async def test_a_created_client_keeps_no_cookie_a_vendor_sets() -> None:
    """A vendor's Set-Cookie is neither stored nor sent back by the client a provider creates."""
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={"items": numbers(20)[(page - 1) * 10 : page * 10], "total": 20},
            headers={"set-cookie": "session=abc; Path=/"},
        )

    pages, _ = await collect(build_capped(NumberedWire, handler, api_key=SECRET))

    assert len(cookies) >= 2
    assert {None} == set(cookies)
    assert 20 == len(ids(pages))
