"""Read what the backend's file mailer sent (var/mail/*.eml), as a person reads their inbox."""

from __future__ import annotations

import email
import re
import time
from email.message import Message
from pathlib import Path


def messages_to(mail_dir: Path, address: str) -> list[Message]:
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        if address.lower() in str(message["To"]).lower():
            found.append(message)
    return found


def body(message: Message) -> str:
    part = message.get_body(("plain",)) if hasattr(message, "get_body") else message
    payload = (part or message).get_payload(decode=True)
    return payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)


CODE = re.compile(r"code is: (\d{3} \d{3} \d{3}|\d{6})\b")


def latest_code(mail_dir: Path, address: str, after: int = 0, timeout: float = 10) -> str:
    """The code (6 digits, or 9 in groups of three) in the newest message to `address` that
    carries one, waiting until one has arrived among the messages after the first `after` (a
    status-lookup code is sent just after the HTTP answer; a verified request's confirmation
    of receipt, which has no code, may arrive in between)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = messages_to(mail_dir, address)
        codes = [CODE.search(body(m)) for m in messages[after:]]
        found = [match.group(1) for match in codes if match]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no new mail to {address} in {mail_dir}")
