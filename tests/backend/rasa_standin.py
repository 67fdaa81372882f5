"""A loopback stand-in for Rasa's HTTP API (real HTTP, in a thread): it keeps each
conversation's events, appends what it is sent, and records every call.

It checks callers as the Rasa server does when started by scripts/rasa_run.py
(`--jwt-secret`, HS256, no `--auth-token`): a JWT signed with the secret in
`Authorization: Bearer`, decoded with sanic-jwt's leeway, whose `user` is an admin or the
conversation's own user; a missing or bad token is 401, too little a role 403, and a
`?token=` in the query string counts for nothing."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

# What Rasa 3.6 configures sanic-jwt with: HS256, 3 minutes of leeway on `exp`.
ALGORITHM = "HS256"
LEEWAY_SECONDS = 180


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    # The verified JWT's payload, or None when the call was refused.
    claims: dict[str, Any] | None = None


@dataclass
class RasaStandIn:
    secret: str
    conversations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    fail_with: int | None = None

    def start(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                call = Call(method, url.path, query, body, headers=dict(self.headers.items()))
                standin.calls.append(call)
                parts = url.path.strip("/").split("/")
                conversation = unquote(parts[1]) if len(parts) > 1 else ""
                call.claims = self._claims()
                if call.claims is None:
                    self._answer(401, {"status": "failure", "reason": "NotAuthenticated"})
                    return
                user = call.claims.get("user") or {}
                if not (user.get("role") == "admin" or (
                        user.get("role") == "user" and user.get("username") == conversation)):
                    call.claims = None
                    self._answer(403, {"status": "failure", "reason": "NotAuthorized"})
                    return
                if standin.fail_with:
                    self._answer(standin.fail_with, {"status": "failure"})
                    return
                events = standin.conversations.setdefault(conversation, [])
                rest = "/".join(parts[2:])
                if method == "GET" and rest == "tracker":
                    marks = [e["event"] for e in events if e.get("event") in ("pause", "resume")]
                    self._answer(200, {"sender_id": conversation, "events": events,
                                       "paused": bool(marks) and marks[-1] == "pause"})
                elif method == "POST" and rest == "tracker/events":
                    events.extend(body if isinstance(body, list) else [body])
                    self._answer(200, {"sender_id": conversation, "events": events})
                elif method == "POST" and rest == "trigger_intent":
                    events.append({"event": "bot", "text": f"(intent {body['name']})"})
                    self._answer(200, {"tracker": {"events": events}, "messages": []})
                else:
                    self._answer(404, {"status": "failure"})

            def _claims(self) -> dict[str, Any] | None:
                prefix, _, token = (self.headers.get("Authorization") or "").partition(" ")
                if prefix != "Bearer" or not token:
                    return None
                try:
                    claims: dict[str, Any] = jwt.decode(token, standin.secret,
                                                        algorithms=[ALGORITHM],
                                                        leeway=LEEWAY_SECONDS)
                except jwt.InvalidTokenError:
                    return None
                return claims

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posted(self, conversation_id: str) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and conversation_id in c.path]
