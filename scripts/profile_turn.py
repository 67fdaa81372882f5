"""Where the time of a statement-question turn goes (part of `make bench`).

Starts the stack on free loopback ports, then times, each `ROUNDS` times in a fresh
conversation, one REST turn "what data do you collect?" end to end and its parts taken
apart by calling each server the way Rasa calls it:

- NLU alone: Rasa's `POST /model/parse` (tokeniser, featurisers, DIET, the question router);
- the action: the action server's `POST /webhook` with the very payload Rasa sends for
  `action_answer_privacy_question` (the tracker, and the domain unless selective domain
  leaves it out), and the same call with the domain added, to show what carrying it costs;
- the rest (policies, the tracker store's reads and writes, the channel) is the end-to-end
  time less those two.

Prints one JSON line: medians in ms, and the payload sizes in bytes.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import requests

from privacy_assistant.config import resolve
from privacy_assistant.rasa_auth import rasa_api_headers
from privacy_assistant.stack import Stack, free_port

QUESTION = "what data do you collect?"
ACTION = "action_answer_privacy_question"
ROUNDS = 40


def timed(http: requests.Session, url: str, **request: Any) -> float:
    """Milliseconds for one POST that must succeed."""
    started = time.perf_counter()
    http.post(url, timeout=30, **request).raise_for_status()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as var_dir:
        env = resolve({**os.environ, "VAR_DIR": var_dir, "BACKEND_PORT": str(free_port()),
                       "ACTION_SERVER_PORT": str(free_port()), "RASA_PORT": str(free_port())})
        with Stack(env) as stack:
            rasa, http = stack.env["RASA_URL"], requests.Session()
            rest = {"Authorization": f"Bearer {stack.env['REST_CHANNEL_TOKEN']}"}

            def api() -> dict[str, str]:
                return rasa_api_headers(stack.env["RASA_API_TOKEN"], username="profile")

            domain = http.get(f"{rasa}/domain", headers={**api(), "Accept": "application/json"},
                              timeout=10).json()
            selective = "enable_selective_domain: true" in open(  # noqa: SIM115
                "endpoints.yml", encoding="utf-8").read()
            parts: dict[str, list[float]] = {"turn": [], "nlu": [], "action": [],
                                             "action_with_domain": []}
            sizes: dict[str, int] = {}
            for round_no in range(ROUNDS + 3):
                sender = f"profile-{round_no}"
                turn = timed(http, f"{rasa}/webhooks/rest/webhook", headers=rest,
                             json={"sender": sender, "message": QUESTION})
                nlu = timed(http, f"{rasa}/model/parse", json={"text": QUESTION},
                            headers=api())
                # The tracker as it stood when Rasa called the action: up to the last user
                # message and the action_listen before it.
                tracker = http.get(f"{rasa}/conversations/{sender}/tracker", headers=api(),
                                   timeout=10).json()
                last_user = max(i for i, e in enumerate(tracker["events"])
                                if e["event"] == "user")
                tracker["events"] = tracker["events"][:last_user + 1]
                call = {"next_action": ACTION, "sender_id": sender, "tracker": tracker,
                        "version": "3.6.21"}
                body = json.dumps(call)
                with_domain = json.dumps({**call, "domain": domain})
                sizes = {"action_call": len(body.encode()),
                         "action_call_with_domain": len(with_domain.encode())}
                webhook = stack.env["ACTION_SERVER_URL"]
                json_headers = {"Content-Type": "application/json"}
                action = timed(http, webhook, data=body, headers=json_headers)
                full = timed(http, webhook, data=with_domain, headers=json_headers)
                if round_no >= 3:  # the first rounds warm up
                    for name, value in (("turn", turn), ("nlu", nlu), ("action", action),
                                        ("action_with_domain", full)):
                        parts[name].append(value)
    medians = {name: round(statistics.median(v), 1) for name, v in parts.items()}
    action = medians["action_with_domain" if not selective else "action"]
    medians["rest (policies, tracker store, channel)"] = round(
        medians["turn"] - medians["nlu"] - action, 1)
    json.dump({"ms_median": medians, "bytes": sizes, "selective_domain": selective,
               "rounds": ROUNDS}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
