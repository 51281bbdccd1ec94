"""The front door's steps, including edges a live server cannot be made to reach on purpose: an
unhandled exception is answered with a 500 that carries the id (Starlette's own 500 comes from
outside every middleware), and is still raised for the server to log."""

from __future__ import annotations

import asyncio

import pytest
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import Message, Receive, Scope, Send

from dockyard.api.request_id import choose_request_id, current_request_id
from dockyard.audit.service import Origin, current_origin
from dockyard.front_door import FrontDoorMiddleware
from dockyard.request_bodies import BodyTooLargeError
from dockyard.request_context import SESSION_COOKIE
from dockyard.web.security import page_headers


def _front_door(app: object) -> FrontDoorMiddleware:
    return FrontDoorMiddleware(app, body_limit=1024, page_headers=page_headers())  # type: ignore[arg-type]


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""}


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _run(app: object, headers: list[tuple[bytes, bytes]]) -> tuple[list[Message], BaseException | None]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        asyncio.run(app(_scope(headers), _receive, send))  # type: ignore[operator]
    except RuntimeError as error:
        return sent, error
    return sent, None


async def _fails_before_answering(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("storage exploded")


async def _fails_while_streaming(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise RuntimeError("storage exploded mid-body")


def _header(message: Message, name: bytes) -> bytes | None:
    return dict(message["headers"]).get(name)


def test_an_unhandled_error_gets_a_500_with_the_id_and_is_raised_again() -> None:
    app = ServerErrorMiddleware(_front_door(_fails_before_answering))
    sent, error = _run(app, [(b"x-request-id", b"abc-123")])
    assert isinstance(error, RuntimeError)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1  # Starlette's outer handler sees the answer started and sends none
    assert starts[0]["status"] == 500
    assert _header(starts[0], b"x-request-id") == b"abc-123"


def test_an_error_after_the_answer_started_is_only_raised() -> None:
    sent, error = _run(_front_door(_fails_while_streaming), [])
    assert isinstance(error, RuntimeError)
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert _header(sent[0], b"x-request-id") is not None


def test_the_id_is_visible_to_the_code_of_the_request() -> None:
    seen: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(current_request_id())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    _sent, error = _run(_front_door(app), [(b"x-request-id", b"trace-me")])
    assert error is None
    assert seen == ["trace-me"]
    assert current_request_id() is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"x-request-id", b"a.b:c=d;e+f/g-h_i")], "a.b:c=d;e+f/g-h_i"),
        ([(b"x-amzn-trace-id", b"Root=1-abc"), (b"x-request-id", b"mine")], "mine"),
        ([(b"x-request-id", b"bad id"), (b"x-amzn-trace-id", b"Root=1-abc")], "Root=1-abc"),
        ([(b"x-request-id", "caf\u00e9".encode())], None),
        ([(b"x-request-id", b"a" * 129)], None),
        ([(b"x-request-id", b"line\r\nbreak")], None),
        ([(b"x-request-id", b"trailing-newline\n")], None),
        ([], None),
    ],
)
def test_choose_request_id(headers: list[tuple[bytes, bytes]], expected: str | None) -> None:
    chosen = choose_request_id(dict(headers))
    if expected is None:
        assert _is_fresh_id(chosen)
    else:
        assert chosen == expected


def _answering(content_type: bytes, seen: list[Scope] | None = None) -> object:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if seen is not None:
            seen.append(dict(scope))
        headers = [(b"content-type", content_type), (b"X-Request-Id", b"from-the-route")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return app


def test_an_html_answer_gets_the_page_headers_it_lacks_and_json_none() -> None:
    sent, _ = _run(_front_door(_answering(b"text/html; charset=utf-8")), [(b"x-request-id", b"mine")])
    headers = sent[0]["headers"]
    assert (b"x-frame-options", b"DENY") in headers
    assert (b"referrer-policy", b"same-origin") in headers
    ids = [value for name, value in headers if name.lower() == b"x-request-id"]
    assert ids == [b"mine"]  # ours replaces the route's
    sent, _ = _run(_front_door(_answering(b"application/json")), [])
    assert not any(name == b"x-frame-options" for name, _ in sent[0]["headers"])


def test_the_route_sees_the_routing_path_and_the_audit_origin() -> None:
    seen_origin: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen_origin.append((scope["path"], current_origin()))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = {**_scope([(b"user-agent", b"hf_hub/1.0")]), "path": "/a/b/c", "raw_path": b"/a/refs%2Fpr%2F1/x%20y"}
    scope["client"] = ("10.0.0.7", 5000)
    asyncio.run(_front_door(app)(scope, _receive, _discard))
    assert seen_origin == [("/a/refs%2Fpr%2F1/x y", Origin(ip="10.0.0.7", user_agent="hf_hub/1.0"))]


async def _discard(message: Message) -> None:
    return None


def _reader(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, list[Message]]:
    """What a route that reads the whole body gets, through the front door (limit 1024)."""
    received: list[Message] = []
    answered: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while True:
                message = await receive()
                received.append(message)
                if not message.get("more_body"):
                    break
        except BodyTooLargeError as error:
            answered.append(error.status_code)
            return
        answered.append(200)

    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return pending.pop(0)

    scope = {**_scope(headers), "method": "POST"}
    asyncio.run(_front_door(app)(scope, receive, _discard))
    return answered[0], received


def test_a_chunked_body_is_stopped_once_past_the_limit() -> None:
    status, received = _reader([(b"transfer-encoding", b"chunked")], [b"a" * 600, b"b" * 600, b"c" * 600])
    assert status == 413
    assert len(received) == 1  # the second piece passed the limit: never handed to the route


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    status, received = _reader([(b"content-length", b"4096")], [b"a" * 4096])
    assert (status, received) == (413, [])


def test_a_body_within_the_limit_reads_whole() -> None:
    status, received = _reader([(b"content-length", b"1000")], [b"a" * 500, b"b" * 500])
    assert status == 200
    assert b"".join(m["body"] for m in received) == b"a" * 500 + b"b" * 500


def test_a_cross_site_post_with_our_cookie_is_refused_with_the_id() -> None:
    cookie = (b"cookie", SESSION_COOKIE.encode() + b"=abc")
    reached: list[Scope] = []
    cases = (("POST", b"cross-site", 403), ("GET", b"cross-site", 200), ("POST", b"same-origin", 200))
    for method, site, status in cases:
        scope = {**_scope([cookie, (b"sec-fetch-site", site), (b"x-request-id", b"r-1")]), "method": method}
        sent = _call(_front_door(_answering(b"application/json", reached)), scope)
        assert sent[0]["status"] == status, (method, site)
        assert (b"x-request-id", b"r-1") in sent[0]["headers"]
    assert len(reached) == 2  # the refused request never reached the application


def _call(app: object, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, _receive, send))  # type: ignore[operator]
    return sent


def test_fresh_ids_are_all_different() -> None:
    ids = {choose_request_id({}) for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(_is_fresh_id(value) for value in ids)


def _is_fresh_id(value: str) -> bool:
    """Ours: 32 lowercase hex digits (a per-process prefix, then a counter)."""
    return len(value) == 32 and set(value) <= set("0123456789abcdef")
