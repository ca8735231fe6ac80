"""What keeps the app's page on this machine: a content security policy, and WebGL.

The promise is that the page loads no script, font or style from any other host.
The theme's system fonts (:mod:`~mlatlas.app.common`) keep Gradio from asking for
font files; two more pieces make the promise hold in the browser itself:

- :class:`AppGuard`, an ASGI middleware, sends a ``Content-Security-Policy`` header
  (:data:`POLICY`) with every response: the browser loads scripts, styles, fonts,
  images and connections only from the app's own origin (plus ``data:`` and
  ``blob:`` URLs, which the page makes itself) and refuses everything else, so
  nothing can reach another host even by accident. It also refuses framing and
  type sniffing, serves user files as downloads, caps uploads and refuses
  state-changing requests from other origins.
- :data:`HEAD` hides WebGPU from the page. Gradio's 3D viewer (Babylon.js) tries
  WebGPU first, and Babylon's WebGPU engine fetches its shader compilers from
  ``cdn.babylonjs.com``; without WebGPU it uses WebGL, which needs nothing from
  outside. (In a browser without a GPU, WebGPU only fails and logs an error.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "media-src 'self' data: blob:",
    "connect-src 'self' data: blob:",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])  # fmt: skip
"""Everything from the app's own origin (``'self'``), nothing from another host.

Gradio's page needs inline scripts and styles and compiles some code at run time,
hence ``'unsafe-inline'`` and ``'unsafe-eval'``; they allow no other host.
"""

HEAD = "<script>delete Navigator.prototype.gpu;</script>"
"""Markup added to the page's ``<head>``: remove ``navigator.gpu``, so the 3D viewer,
which picks WebGPU when ``"gpu" in navigator``, uses WebGL."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


MAX_UPLOAD_BYTES = 64 * 1024 * 1024
"""The largest request body the app accepts (64 MiB): an image for the extrusion tab
(at most ``MAX_IMAGE_PIXELS``) or a CSV for the distillation tab fits many times over."""

HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-frame-options", b"DENY"),  # older browsers' frame-ancestors 'none'
    (b"x-content-type-options", b"nosniff"),  # a file is what its type says, never sniffed into HTML
    (b"referrer-policy", b"no-referrer"),
]
"""Sent with every response."""

FILE_ROUTES = ("/gradio_api/file=", "/file=")
"""Where Gradio serves uploaded and produced files: served as downloads, in a sandbox."""

CHANGES_STATE = {"POST", "PUT", "PATCH", "DELETE"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def refusal(scope: Scope) -> tuple[int, str] | None:
    """Why a request must be refused before the app sees it, or ``None``.

    - A request that changes state (an upload, a run) from a page of another origin:
      its ``Origin`` header names another host or port than the one asked for.
    - A body larger than :data:`MAX_UPLOAD_BYTES`, by its ``Content-Length``.

    Example:
        >>> scope = {"method": "POST", "headers": [(b"host", b"127.0.0.1:7860"), (b"origin", b"http://evil.test")]}
        >>> refusal(scope)
        (403, 'cross-origin request refused: http://evil.test is not http://127.0.0.1:7860')
    """
    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    if scope.get("method") in CHANGES_STATE and origin is not None and origin != "null":
        own = f"{scope.get('scheme', 'http')}://{host}"
        if origin.rstrip("/") != own:
            return 403, f"cross-origin request refused: {origin} is not {own}"
    length = _header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
        return 413, f"request body of {int(length):,} bytes refused: the app accepts at most {MAX_UPLOAD_BYTES:,}"
    return None


class AppGuard:
    """ASGI middleware in front of the app: its headers on every response, and its refusals.

    Every response gets :data:`HEADERS` (the content security policy, no framing, no
    type sniffing, no referrer). A file the app serves from :data:`FILE_ROUTES` is
    sent as a download (``Content-Disposition: attachment``) under a ``sandbox``
    policy, so an uploaded ``.html`` or ``.svg`` never runs as a page of the app's
    origin; the app's own ``<img>`` and 3D viewer still load them, since browsers
    apply both headers only to a page opened directly. Requests that :func:`refusal`
    names are answered with its status and reason, and the app never sees them.

    Args:
        app: The ASGI application to wrap.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = refusal(scope)
        if refused is not None:
            status, reason = refused
            body = reason.encode()
            headers = [*HEADERS, (b"content-type", b"text/plain; charset=utf-8")]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        user_file = scope.get("path", "").startswith(FILE_ROUTES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"content-disposition"]
                headers += HEADERS
                if user_file:
                    headers += [(b"content-disposition", b"attachment"), (b"content-security-policy", b"sandbox")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
