"""Checks in front of the UI server, as one ASGI middleware (no Solara in here; `viz.__main__` installs it).

Each request (HTTP or WebSocket) is checked in this order, and a refused one gets one line of
text and goes no further:

- **Host** (400): the ``Host`` header must name an address this server answers to (the loopback
  names, the ``--host`` given or the address the client actually connected to, with the served
  port; or an ``--allow-host`` name, e.g. behind a reverse proxy, with any port), so a
  DNS-rebinding page, whose requests carry its own host name, is refused.
- **Origin** (403): a browser request sent from a page of another origin (a WebSocket, a POST) is
  refused; a request without ``Origin`` (a page load, a script outside a browser) passes.
- **Diagnostics** (404): Solara's ``/resourcez`` (threads, kernels, CPU and memory) is not served.
- **Token** (403): when the server has one (``aisim ui`` on a non-loopback address), every request
  but ``/readyz`` and class mode's pages (``/class...``, which need a join code, a personal code or the
  teacher's secret instead; `viz.classroom_web`) needs it: ``?token=`` once (answered with a redirect
  that sets a cookie and drops the token from the address bar), then the cookie.
- **Sessions** (503): at the cap, a new session (a page load or a WebSocket for a new kernel) is
  refused; reconnecting to an existing session is not.

Every HTTP response gets security headers (`SECURITY_HEADERS`) and a Content-Security-Policy (`CSP`)
that allows only this server's own files and forbids framing. Each session's last message from its
browser is recorded in `Sessions`, which finds idle ones.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self'",
        "font-src 'self' data:",
        "connect-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
"""Only this server's own files. Measured in Chromium, each source beyond 'self' is needed: without
'unsafe-eval' or inline scripts the page never loads, without inline styles or data: fonts it draws
wrongly, and without blob: scripts and fetches (Solara's front end builds modules in blob: URLs) the
charts never draw. 'self' also covers the page's WebSocket to this server."""
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
"""Sent with every HTTP response, with the policy's Content-Security-Policy."""
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")
DIAGNOSTICS = ("/resourcez",)
"""Solara endpoints that describe the server's insides to anyone who asks: 404 here."""
ASSET_PREFIXES = ("/_solara/", "/static/", "/jupyter/", "/readyz")
"""Paths that are not page loads (front-end files, the kernel API, the readiness probe)."""
KERNEL_PATH = "/jupyter/api/kernels/"
TOKEN_FREE = ("/readyz",)
CLASS_PATH = "/class"
"""Class mode's pages and API: no Solara session, no UI token (see `viz.classroom_web`)."""


def is_class_path(path: str) -> bool:
    return path == CLASS_PATH or path.startswith(CLASS_PATH + "/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def served_names(host: str) -> frozenset[str]:
    """The host names and addresses a client may put in ``Host`` for a server bound to ``host``.

    The loopback names and ``host`` itself; on a wildcard address (0.0.0.0, ::) also this machine's
    own names. Whatever address a client connected to is accepted as well (see `Guard.host_allowed`).
    """
    names = {*LOOPBACK_NAMES, host.strip("[]").lower()}
    if host in WILDCARD_ADDRESSES:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(names - {""})


@dataclass(frozen=True)
class Policy:
    """What the guard lets through."""

    port: int
    names: frozenset[str]  # see served_names; with the served port
    allowed: frozenset[str] = frozenset()  # --allow-host names, with any port (a reverse proxy's)
    token: str | None = None  # None: no token needed (a loopback server)
    max_sessions: int = 200
    csp: str = CSP

    @property
    def cookie(self) -> str:
        """The token cookie's name: one per port, so two servers on one machine keep their own."""
        return f"aisim_token_{self.port}"


class Refusal(Exception):
    """A request this server will not serve: an HTTP status and one line of text."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status
        self.text = text


class Sessions:
    """The server's sessions as the guard sees them: which are live (``live()`` lists their ids), and
    when each one's browser last sent anything."""

    def __init__(self, live: Callable[[], Collection[str]]):
        self.live = live
        self.last_seen: dict[str, float] = {}

    def seen(self, session: str) -> None:
        self.last_seen[session] = time.monotonic()

    def idle(self, seconds: float) -> list[str]:
        """Live sessions whose browser sent nothing for ``seconds``; forgets sessions that are gone."""
        live = set(self.live())
        for gone in self.last_seen.keys() - live:
            self.last_seen.pop(gone, None)
        now = time.monotonic()
        return [session for session, seen in list(self.last_seen.items()) if now - seen > seconds]


class Guard:
    """ASGI middleware applying a `Policy` (see the module docstring) and recording activity in `Sessions`."""

    def __init__(self, app, policy: Policy, sessions: Sessions):
        self.app = app
        self.policy = policy
        self.sessions = sessions
        self.headers = [*SECURITY_HEADERS, (b"content-security-policy", policy.csp.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        try:
            redirect = self.check(scope, headers)
        except Refusal as refusal:
            await self.refuse(scope, send, refusal)
            return
        if redirect is not None:
            await self.respond(send, 303, "Signed in; opening the page.", [(b"location", redirect), self.set_cookie()])
        elif scope["type"] == "websocket":
            await self.app(scope, self.recording(scope, receive), send)
        else:
            await self.app(scope, receive, self.with_headers(send))

    def check(self, scope: Scope, headers: dict[str, str]) -> bytes | None:
        """Raise `Refusal` for a request that may not pass; return a redirect target for a good ``?token=``."""
        host = headers.get("host", "")
        if not self.host_allowed(host, scope):
            raise Refusal(400, f"Refused: this server does not answer to the host name {host!r}.")
        origin = headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            raise Refusal(403, f"Refused: a page from {origin!r} may not use this server.")
        path = scope["path"]
        if path in DIAGNOSTICS:
            raise Refusal(404, "Not found.")
        redirect = None
        token_free = path in TOKEN_FREE or is_class_path(path)
        if self.policy.token is not None and not token_free and not self.has_cookie(headers):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            given = dict(query).get("token", "")
            if not hmac.compare_digest(given.encode(), self.policy.token.encode()):
                raise Refusal(403, "Refused: open this server with the address and ?token=... that `aisim ui` printed.")
            if scope["type"] == "http":
                rest = urlencode([(key, value) for key, value in query if key != "token"])
                redirect = (scope.get("root_path", "") + path + (f"?{rest}" if rest else "")).encode()
        if len(sessions := self.sessions.live()) >= self.policy.max_sessions and self.opens_session(scope, sessions):
            raise Refusal(503, f"Refused: this server is full ({self.policy.max_sessions} sessions); try again later.")
        return redirect

    def host_allowed(self, host: str, scope: Scope) -> bool:
        """Whether the ``Host`` header names this server: a served name, or the address the client
        connected to (which no rebinding page can put there), with the served port; or an allowed name."""
        try:
            parts = urlsplit(f"//{host}")
            name, port = parts.hostname or "", parts.port or 80
        except ValueError:  # a malformed port
            return False
        if name in self.policy.allowed:
            return True
        local = (scope.get("server") or ("", None))[0]
        return port == self.policy.port and (name in self.policy.names or name == str(local).lower())

    def has_cookie(self, headers: dict[str, str]) -> bool:
        """Whether the request carries the token cookie (asked only when the server has a token)."""
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except CookieError:  # a malformed cookie header holds no token
            return False
        morsel = cookie.get(self.policy.cookie)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), str(self.policy.token).encode())

    def set_cookie(self) -> tuple[bytes, bytes]:
        return b"set-cookie", f"{self.policy.cookie}={self.policy.token}; Path=/; HttpOnly; SameSite=Lax".encode()

    @staticmethod
    def opens_session(scope: Scope, sessions: Collection[str]) -> bool:
        """A page load, or a WebSocket for a kernel that does not exist yet."""
        path = scope["path"]
        if scope["type"] == "websocket":
            return path.startswith(KERNEL_PATH) and path[len(KERNEL_PATH) :].split("/")[0] not in sessions
        return not path.startswith(ASSET_PREFIXES) and not is_class_path(path)

    def recording(self, scope: Scope, receive: Receive) -> Receive:
        """``receive`` that notes when a session's browser last sent anything."""
        path = scope["path"]
        if not path.startswith(KERNEL_PATH):
            return receive
        session = path[len(KERNEL_PATH) :].split("/")[0]

        async def receive_and_record():
            message = await receive()
            self.sessions.seen(session)
            return message

        return receive_and_record

    def with_headers(self, send: Send) -> Send:
        """``send`` that adds the security headers to the response."""

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        return send_with_headers

    async def refuse(self, scope: Scope, send: Send, refusal: Refusal) -> None:
        """Answer a refused request with its status and line of text."""
        if scope["type"] == "http":
            await self.respond(send, refusal.status, refusal.text)
        elif "websocket.http.response" in scope.get("extensions", {}):
            await self.respond(send, refusal.status, refusal.text, prefix="websocket.")
        else:  # the server cannot send a body: a close before accept is a 403
            await send({"type": "websocket.close", "code": 1008, "reason": refusal.text[:120]})

    async def respond(
        self, send: Send, status: int, text: str, extra: Iterable[tuple[bytes, bytes]] = (), prefix: str = ""
    ) -> None:
        """One line of plain text (``prefix="websocket."`` answers a WebSocket handshake with it)."""
        body = (text + "\n").encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send(
            {"type": f"{prefix}http.response.start", "status": status, "headers": [*headers, *extra, *self.headers]}
        )
        await send({"type": f"{prefix}http.response.body", "body": body})
