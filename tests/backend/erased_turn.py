"""The Rasa side of an erasure (run with the Rasa environment's Python by
tests/backend/test_erasure_marks.py):

    python erased_turn.py in-flight DB_FILE SENDER
        A turn in flight, with Rasa's tracker store of endpoints.yml
        (`rasa_server.tracker_store.MaskingSQLTrackerStore`) on the SQLite file DB_FILE: a
        visitor's first turn is saved; "saved" is printed and a line is awaited on stdin
        (the test erases the conversation meanwhile); then the same tracker, still held by
        the turn, gets one more message and is saved again, as a turn that loaded it before
        the erasure does. Prints the texts the store then holds for SENDER, as JSON.

    python erased_turn.py key SENDER MESSAGE_ID
        The Redis key under which the REST channel keeps that turn's answer
        (`channels.rest.Turns`).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


async def in_flight(db_file: str, sender: str) -> None:
    import sqlalchemy as sa
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_server.tracker_store import MaskingSQLTrackerStore

    store = MaskingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=db_file)
    tracker = DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen"),
        UserUttered("my address is ada@example.com", message_id="turn-1"),
        BotUttered("Thanks, Ada."),
    ])
    await store.save(tracker)
    print("saved", flush=True)
    sys.stdin.readline()
    tracker.update(UserUttered("and my reference is R-123", message_id="turn-2"))
    await store.save(tracker)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                            {"s": sender}).fetchall()
    print(json.dumps([json.loads(row[0]).get("text") for row in rows]), flush=True)


def key(sender: str, message_id: str) -> None:
    from channels.rest import Turns

    print(Turns().prefix + Turns.key(sender, message_id), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "in-flight":
        asyncio.run(in_flight(sys.argv[2], sys.argv[3]))
    else:
        key(sys.argv[2], sys.argv[3])
