"""1,000 random and hostile chat messages over REST and socket.io: no server error, no crash,
and no slot filled that a form did not ask for.

The messages are generated from a fixed seed (the same run every time): control
characters, 20 kB texts, `/intent{...}` payloads with entities for every slot that decides
what an action does, unknown intents, broken JSON, and ordinary questions in between. They go
to 20 conversations in turns, so payloads also arrive while forms are open. Afterwards the
tracker store is read directly: every slot that the message's own mapping filled
(`action_extract_slots`) must belong to the form that was active at the time.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from privacy_assistant.domain import load_domain
from privacy_assistant.stack import Stack
from tests.conftest import close_socket
from tests.e2e.conftest import Chat, stored_events

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = 20261202
MESSAGES = 1000
CONVERSATIONS = 20
BUDGET_SECONDS = 420  # bounded in time as well as in count

DOMAIN = load_domain()
INTENTS = [i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]]
FORM_SLOTS = {name: set(form.get("required_slots") or [])
              for name, form in DOMAIN["forms"].items()}
ENTITY_VALUES = {
    "request_type": ["deletion", "access", "know", "portability", "correction", "all", "x" * 300],
    "marketing_channel": ["all", "email", "sms", "phone", "postal", "carrier pigeon"],
    "marketing_topic": ["all", "promotions", "events", "newsletters", "product_news", "\u0000"],
    "requester_email": ["attacker@example.com", "not-an-email"],
    "verification_code": ["123456", "000000"],
    "request_confirmed": [True, "yes"],
}
ORDINARY = ["what data do you collect?", "delete my data", "stop emailing me",
            "what's the status of my request?", "opt me out of everything", "yes", "no",
            "cancel", "start over", "victim@example.com", "123456", "talk to a person",
            "subscribe me to the newsletter again", "what am I subscribed to?"]


def hostile_messages(rng: random.Random, count: int) -> list[str]:
    def payload() -> str:
        intent = rng.choice([*INTENTS, "restart", "session_start", "no_such_intent",
                             "inform", "inform"])
        chosen = rng.sample(sorted(ENTITY_VALUES.items()), rng.randint(1, 3))
        entities = {slot: rng.choice(values) for slot, values in chosen}
        body = json.dumps(entities)
        if rng.random() < 0.2:
            body = body[: rng.randint(0, len(body))]  # broken JSON
        return f"/{intent}{body}"

    makers = [
        payload, payload, payload,
        lambda: rng.choice(ORDINARY),
        lambda: rng.choice(ORDINARY),
        lambda: "".join(chr(rng.randint(0, 31)) for _ in range(rng.randint(1, 40))),
        lambda: "A" * 20_000,
        lambda: rng.choice(ORDINARY) + "\u202e\u0000\ufeff" + "🙂" * rng.randint(1, 50),
        lambda: "/" + "".join(rng.choice("{}[]\":,") for _ in range(rng.randint(1, 60))),
        lambda: "",
        lambda: "   \n\t  ",
        lambda: "<script>alert(1)</script>",
    ]
    return [rng.choice(makers)() for _ in range(count)]


def _violations(store: Stack | str, sender_ids: list[str]) -> list[str]:
    """Slots filled from a message's mappings while no form, or another form, was active."""
    found: list[str] = []
    for sender in sender_ids:
        loop: str | None = None
        after_extract = False
        for type_name, event in stored_events(store, sender):
            if type_name == "active_loop":
                loop = event.get("name")
            elif type_name == "action":
                after_extract = event.get("name") == "action_extract_slots"
            elif type_name == "restart":
                loop = None
            elif type_name == "slot" and after_extract and event["name"] in ENTITY_VALUES:
                if loop not in FORM_SLOTS or event["name"] not in FORM_SLOTS[loop]:
                    found.append(f"{sender}: {event['name']}={event['value']!r} "
                                 f"with {loop or 'no form'} active")
            elif type_name != "slot":
                after_extract = False
    return found


def test_a_thousand_hostile_messages(stack: Stack, chat: Chat) -> None:
    rng = random.Random(SEED)
    messages = hostile_messages(rng, MESSAGES)
    started = time.monotonic()
    rest_senders = [f"{chat.sender}-rest-{n}" for n in range(CONVERSATIONS // 2)]
    rest_chats = [Chat.of(stack, s) for s in rest_senders]
    browsers = [socketio.Client(reconnection=False) for _ in range(CONVERSATIONS // 2)]
    socket_senders: list[str] = []
    errors: list[Any] = []
    for client in browsers:
        confirmed: list[dict[str, Any]] = []
        client.on("session_confirm", confirmed.append)
        client.on("error", errors.append)
        client.connect(stack.env["RASA_URL"], socketio_path="/socket.io",
                       transports=["polling"], wait_timeout=20)
        client.emit("session_request", {})
        deadline = time.monotonic() + 30
        while not confirmed and time.monotonic() < deadline:
            time.sleep(0.05)
        socket_senders.append(confirmed[0]["session_id"])

    server_errors: list[str] = []
    sent = 0
    for n, text in enumerate(messages):
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        if n % 2 == 0:
            target = rest_chats[(n // 2) % len(rest_chats)]
            response = requests.post(target.url, json={"sender": target.sender, "message": text},
                                     headers=target.headers, timeout=60)
            if response.status_code >= 500:
                server_errors.append(f"REST {response.status_code} for {text[:60]!r}")
        else:
            browsers[(n // 2) % len(browsers)].emit("user_uttered", {"message": text})
            time.sleep(0.02)
        sent += 1
    time.sleep(3)  # let the socket.io turns finish
    for client in browsers:
        close_socket(client)

    assert sent >= MESSAGES * 0.9, f"only {sent} messages in {BUDGET_SECONDS} s"
    assert server_errors == []
    assert stack.dead_service() is None
    assert {e.get("error") for e in errors} <= {"bad_message", "bad_metadata"}
    # The assistant still answers normally afterwards.
    assert "Information We Collect" in chat.reply("what data do you collect?")
    assert _violations(stack, rest_senders + socket_senders) == []


def test_the_slot_check_finds_a_slot_filled_outside_its_form(tmp_path: Path) -> None:
    """The check above on a tracker store written by hand: it must see the hole it guards."""
    db_path = str(tmp_path / "tracker.db")
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, "
                   "type_name TEXT, data TEXT)")
        rows = [("s", "active_loop", {"name": "verification_form"}),
                ("s", "action", {"name": "action_extract_slots"}),
                ("s", "slot", {"name": "marketing_channel", "value": "all"}),
                ("t", "active_loop", {"name": "marketing_form"}),
                ("t", "action", {"name": "action_extract_slots"}),
                ("t", "slot", {"name": "marketing_channel", "value": "sms"})]
        db.executemany("INSERT INTO events (sender_id, type_name, data) VALUES (?, ?, ?)",
                       [(sender, kind, json.dumps(data)) for sender, kind, data in rows])
    found = _violations(f"sqlite:///{db_path}", ["s", "t"])
    assert len(found) == 1 and "marketing_channel='all' with verification_form" in found[0]
