"""A fake HTTP server for the SDK backend tests: an httpx2 MockTransport handler and replies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2

Reply = Callable[[httpx2.Request], httpx2.Response]


class FakeServer:
    """A MockTransport handler: records requests, answers with the next reply (the last repeats)."""

    def __init__(self, *replies: Reply):
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request)

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the last request."""
        return dict(json.loads(self.requests[-1].content))


def streamed(data: bytes, *, fail: Exception | None = None, piece: int = 37) -> Reply:
    """A 200 event stream sent in ``piece``-byte reads; ``fail`` is raised after the last byte."""

    def reply(request: httpx2.Request) -> httpx2.Response:
        async def body() -> AsyncIterator[bytes]:
            for i in range(0, len(data), piece):
                yield data[i : i + piece]
            if fail is not None:
                raise fail

        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return reply


def raises(exc_type: Callable[..., Exception], message: str) -> Reply:
    """A reply that fails the request with ``exc_type`` (a transport error)."""

    def reply(request: httpx2.Request) -> httpx2.Response:
        raise exc_type(message, request=request)

    return reply
