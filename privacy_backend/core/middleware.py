"""ASGI middleware: a request-body size limit (413) applied before any handler runs; the
client's address behind a proxy (`ForwardedClient`); HSTS on https deployments."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# uvicorn's own variable and default: the addresses whose X-Forwarded-For is believed.
FORWARDED_ALLOW_IPS = "FORWARDED_ALLOW_IPS"
LOOPBACK_ONLY = "127.0.0.1,::1"
# A year: browsers then refuse plain http for the site (RFC 6797), once they saw it on https.
HSTS_MAX_AGE = 365 * 24 * 3600


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps({
            "error": "payload_too_large",
            "message": f"The request body is larger than {self.max_bytes} bytes.",
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        # Buffer the (small) body so chunked uploads are limited too, then replay it.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def https_deployment(public_url: str) -> bool:
    """Whether the public address (PUBLIC_BASE_URL) is https: the console cookie is then
    `Secure` and every answer carries HSTS, whatever a proxy says about one request."""
    return public_url.strip().lower().startswith("https://")


class StrictTransportSecurity:
    """`Strict-Transport-Security` on every answer (main.create_app adds it when
    `https_deployment`)."""

    def __init__(self, app: ASGIApp, max_age: int = HSTS_MAX_AGE) -> None:
        self.app = app
        self.header = (b"strict-transport-security", f"max-age={max_age}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", [])
                           if name.lower() != self.header[0]]
                message = {**message, "headers": [*headers, self.header]}
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def _host(hop: str) -> str:
    """An X-Forwarded-For entry without its port: `1.2.3.4:5` → `1.2.3.4`, `[::1]:5` → `::1`."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    return hop.rsplit(":", 1)[0] if hop.count(":") == 1 else hop


def trusted_proxies(environ: Mapping[str, str] | None = None) -> str:
    """FORWARDED_ALLOW_IPS (uvicorn's variable), default loopback only."""
    return (os.environ if environ is None else environ).get(FORWARDED_ALLOW_IPS) or LOOPBACK_ONLY


class ForwardedClient:
    """The client's address behind a proxy, replacing uvicorn's `--proxy-headers`.

    `trusted` is FORWARDED_ALLOW_IPS: addresses and networks (`10.0.0.0/8`) of the proxies,
    or `*` for "whoever connects is the proxy". Only a connection from a trusted proxy has
    its X-Forwarded-For read, and from the right: each proxy appends the address it saw, so
    the right-most entry that is not itself a trusted proxy is the client. What the client
    wrote at the left is never taken (uvicorn, given `*`, took the left-most: anyone could
    choose their address, and so their login lockout). X-Forwarded-Proto from a trusted
    proxy sets the scheme, as uvicorn did."""

    def __init__(self, app: ASGIApp, trusted: str = LOOPBACK_ONLY) -> None:
        self.app = app
        items = [item.strip() for item in trusted.split(",") if item.strip()]
        self.any_peer = "*" in items
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.literals: set[str] = set()  # not an address (a unix socket's name), as uvicorn
        for item in items:
            if item == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.literals.add(item)

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self.literals
        return any(address in network for network in self.networks)

    def trusts(self, peer: str | None) -> bool:
        """Whether a connection from `peer` comes from a proxy whose headers are read."""
        return bool(peer) and (self.any_peer or self._trusted(peer or ""))

    def client_host(self, forwarded_for: list[str]) -> str | None:
        """The client's address from a trusted proxy's X-Forwarded-For values (None: none)."""
        hops = [_host(hop) for value in forwarded_for for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else None  # every hop a trusted proxy: the first of them

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] in ("http", "websocket") and self.trusts(peer[0] if peer else None):
            headers = scope.get("headers", [])
            host = self.client_host([value.decode("latin-1") for name, value in headers
                                     if name == b"x-forwarded-for"])
            # In place, as uvicorn's proxy headers did: its access log reads this scope.
            if host is not None:
                scope["client"] = (host, 0)
            proto = next((value.decode("latin-1").strip().lower() for name, value in headers
                          if name == b"x-forwarded-proto"), "")
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
        await self.app(scope, receive, send)
