"""Save one conversation through the Rasa server's tracker store
(`rasa_server.tracker_store.MaskingSQLTrackerStore`) into a SQLite file, as Rasa does at the
end of a turn. Run with the Rasa environment's Python:
`masked_tracker.py DB '{"unasked": [...], "asked": [...]}'`: the messages of `unasked` are
sent before the code form asks for the code, those of `asked` while it asks.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import SlotSet, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from rasa_server.tracker_store import MaskingSQLTrackerStore  # noqa: E402


async def main(db: str, texts: dict[str, list[str]]) -> None:
    store = MaskingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=db)
    events = [UserUttered(text, parse_data={"text": text}) for text in texts["unasked"]]
    events.append(SlotSet("requested_slot", "verification_code"))
    events += [UserUttered(text, parse_data={"text": text}) for text in texts["asked"]]
    await store.save(DialogueStateTracker.from_events("visitor", events))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
