"""A tiny SMTP server on a loopback port that speaks real SMTP (EHLO, AUTH PLAIN, MAIL, RCPT,
DATA, QUIT) and keeps what it receives. The stand-in for the outside world's mail relay.
`hold=True` makes it a slow relay: it answers each message's DATA only once `release()` is
called (or after 30 s), and sets `receiving` when a message is being held."""

from __future__ import annotations

import base64
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    data: bytes = b""


class _Handler(socketserver.StreamRequestHandler):
    server: LoopbackSMTP

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._say("220 loopback ESMTP ready")
        current = Received()
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            upper = cmd.upper()
            if upper.startswith(("EHLO", "HELO")):
                self._say("250-loopback")
                self._say("250-AUTH PLAIN")
                self._say("250 8BITMIME")
            elif upper.startswith("AUTH PLAIN"):
                _, user, password = base64.b64decode(cmd.split()[2]).split(b"\0")
                self.server.logins.append((user.decode(), password.decode()))
                self._say("235 2.7.0 Authentication successful")
            elif upper.startswith("MAIL FROM:"):
                current = Received(sender=cmd[10:].strip(" <>"))
                self._say("250 OK")
            elif upper.startswith("RCPT TO:"):
                current.recipients.append(cmd[8:].strip(" <>"))
                self._say("250 OK")
            elif upper == "DATA":
                self._say("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    chunks.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                current.data = b"".join(chunks)
                if self.server.hold:
                    self.server.receiving.set()
                    self.server.released.wait(timeout=30)
                self.server.messages.append(current)
                self._say("250 OK queued")
            elif upper in ("RSET", "NOOP"):
                self._say("250 OK")
            elif upper == "QUIT":
                self._say("221 Bye")
                return
            else:
                self._say("502 Command not implemented")


class LoopbackSMTP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, *, hold: bool = False) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.messages: list[Received] = []
        self.logins: list[tuple[str, str]] = []
        self.hold = hold
        self.receiving = threading.Event()
        self.released = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def __enter__(self) -> LoopbackSMTP:
        self._thread.start()
        return self

    def release(self) -> None:
        self.released.set()

    def __exit__(self, *_: object) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()
