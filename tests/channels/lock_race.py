"""Several "replicas" draw tickets for one conversation at once (run with the Rasa
environment's Python by tests/channels/test_lock_store.py): each replica is a thread with its
own lock store and its own Redis connection, as each Rasa server has. Prints, as JSON, the
tickets drawn, how many were drawn twice, and whether the lock was left behind after every
ticket was served.

    python lock_race.py REDIS_URL shared|rasa REPLICAS DRAWS
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rasa.core.lock_store import RedisLockStore  # noqa: E402

from rasa_server.lock_store import SharedLockStore  # noqa: E402


def store(kind: str, url: str) -> Any:
    if kind == "shared":
        return SharedLockStore(url=url)
    from redis.connection import parse_url

    options = parse_url(url)
    return RedisLockStore(host=options.get("host", "localhost"), port=options.get("port", 6379),
                          db=options.get("db", 0))


def main(url: str, kind: str, replicas: int, draws: int) -> None:
    conversation = f"race-{uuid.uuid4().hex}"
    stores = [store(kind, url) for _ in range(replicas)]
    drawn: list[int] = []
    start = threading.Barrier(replicas)

    def replica(lock_store: Any) -> None:
        start.wait()
        mine = [lock_store.issue_ticket(conversation) for _ in range(draws)]
        drawn.extend(mine)

    threads = [threading.Thread(target=replica, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    twice = sum(count - 1 for count in Counter(drawn).values() if count > 1)
    for ticket in sorted(set(drawn)):
        stores[0].cleanup(conversation, ticket)
    print(json.dumps({"drawn": len(drawn), "distinct": len(set(drawn)), "twice": twice,
                      "left_behind": stores[0].get_lock(conversation) is not None}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
