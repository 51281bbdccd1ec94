"""The request-id middleware's edges that a live server cannot be made to reach on purpose: an
unhandled exception is answered with a 500 that carries the id (Starlette's own 500 comes from
outside every middleware), and is still raised for the server to log."""

from __future__ import annotations

import asyncio

import pytest
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import Message, Receive, Scope, Send

from dockyard.api.request_id import RequestIdMiddleware, choose_request_id, current_request_id


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
    app = ServerErrorMiddleware(RequestIdMiddleware(_fails_before_answering))
    sent, error = _run(app, [(b"x-request-id", b"abc-123")])
    assert isinstance(error, RuntimeError)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1  # Starlette's outer handler sees the answer started and sends none
    assert starts[0]["status"] == 500
    assert _header(starts[0], b"x-request-id") == b"abc-123"


def test_an_error_after_the_answer_started_is_only_raised() -> None:
    sent, error = _run(RequestIdMiddleware(_fails_while_streaming), [])
    assert isinstance(error, RuntimeError)
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert _header(sent[0], b"x-request-id") is not None


def test_the_id_is_visible_to_the_code_of_the_request() -> None:
    seen: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(current_request_id())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    _sent, error = _run(RequestIdMiddleware(app), [(b"x-request-id", b"trace-me")])
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
    chosen = choose_request_id(headers)
    if expected is None:
        assert len(chosen) == 32
        assert int(chosen, 16) >= 0
    else:
        assert chosen == expected
