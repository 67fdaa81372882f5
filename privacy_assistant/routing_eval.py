"""Where the assistant routes each message of a labelled set, seen from the outside.

Each message is sent as the first turn of a fresh conversation over the REST channel; what
the assistant did with it is read back from the conversation's tracker (Rasa's HTTP API):

- `request` (with the request type the form was started with), `status`, `marketing` or
  `handoff`: the turn started that flow;
- `answer`: the turn quoted a passage of the statement (its citation names the heading);
- `decline`: none of these (off-topic answer, "please rephrase", small talk).

A statement question counts as right when the quoted passage's heading, or a heading above
it in the statement, is one of the item's accepted headings; a request when the flow and the
type are right; everything else when the route is. The table counts, per expected route,
where the messages went.

`python -m privacy_assistant.routing_eval SET.yml [--json OUT]` starts a throw-away stack on
free loopback ports (as `scripts/bench_turns.py` does) and prints the table; the end-to-end
test of the held-out set calls `evaluate` on the test session's stack.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from privacy_assistant.config import PROJECT_ROOT, resolve
from privacy_assistant.rasa_auth import rasa_api_headers
from privacy_assistant.stack import Stack, free_port
from privacy_kb.document import load_document
from privacy_kb.evaluate import accepts
from privacy_kb.evaluate import load_items as answer_items

ROUTES = ("answer", "request", "status", "marketing", "handoff", "decline")
FLOW_LOOPS = {"rights_request_form": "request", "status_lookup_form": "status",
              "marketing_form": "marketing"}
STATEMENT = PROJECT_ROOT / "data" / "knowledge" / "privacy_statement.md"


@dataclass(frozen=True)
class Outcome:
    text: str
    expect: str
    route: str
    right: bool
    request_type: str | None = None
    heading: str | None = None
    anchor: str | None = None


def ancestors(statement: Path = STATEMENT) -> dict[str, list[str]]:
    """Each cited section's anchor, mapped to its own heading and every heading above it."""
    return {p.anchor: [*p.parents, p.heading] for p in load_document(statement).passages}


def load_items(path: Path) -> list[dict[str, Any]]:
    """A routing set's items; an answerability set (`answerable` questions with `accept`
    heading fragments, `unanswerable` ones) as statement questions and declines."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "items" in data:
        items: list[dict[str, Any]] = data["items"]
        return items
    return [{"text": i.question, "expect": "answer", "accept": i.accept} if i.answerable
            else {"text": i.question, "expect": "decline"} for i in answer_items(path)]


def route_of(events: list[dict[str, Any]], messages: list[dict[str, Any]]
             ) -> tuple[str, str | None, dict[str, Any] | None]:
    """The route one turn took, the request type it started, and the citation it sent."""
    loops = [e.get("name") for e in events if e["event"] == "active_loop"]
    actions = [e.get("name") for e in events if e["event"] == "action"]
    slots = {e["name"]: e.get("value") for e in events if e["event"] == "slot"}
    citations = [m["custom"]["citation"] for m in messages
                 if isinstance(m.get("custom"), dict) and "citation" in m["custom"]]
    citation = citations[0] if citations else None
    for loop in loops:
        if loop in FLOW_LOOPS:
            route = FLOW_LOOPS[loop]
            return route, slots.get("request_type") if route == "request" else None, citation
    if "action_handoff" in actions:
        return "handoff", None, citation
    if citation is not None:
        return "answer", None, citation
    return "decline", None, None


def judge(item: Mapping[str, Any], route: str, request_type: str | None,
          citation: Mapping[str, Any] | None, parents: Mapping[str, list[str]]) -> bool:
    expect = item["expect"]
    if expect == "answer":
        if route != "answer" or citation is None:
            return False
        cited = parents.get(str(citation.get("anchor")), [str(citation.get("heading"))])
        if "accept" in item:  # heading fragments, lower-case
            return accepts(item["accept"], cited)
        return any(heading in item["headings"] for heading in cited)
    if expect == "request":
        return route == "request" and request_type == item["request_type"]
    return bool(route == expect)


class Assistant:
    """The running assistant as the evaluation reaches it: REST channel and HTTP API."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.rasa_url = env["RASA_URL"]
        self.rest_headers = {"Authorization": f"Bearer {env['REST_CHANNEL_TOKEN']}"}
        self.api_headers = rasa_api_headers(env["RASA_API_TOKEN"], username="routing-eval")
        self.http = requests.Session()

    def first_turn(self, text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Send `text` as a new conversation's first message; the replies and the events."""
        sender = f"routing-eval-{uuid.uuid4().hex}"
        reply = self.http.post(f"{self.rasa_url}/webhooks/rest/webhook", timeout=60,
                               json={"sender": sender, "message": text},
                               headers=self.rest_headers)
        reply.raise_for_status()
        tracker = self.http.get(f"{self.rasa_url}/conversations/{sender}/tracker", timeout=30,
                                headers=self.api_headers)
        tracker.raise_for_status()
        events: list[dict[str, Any]] = tracker.json()["events"]
        return reply.json(), events


def evaluate(assistant: Assistant, items: list[dict[str, Any]]) -> list[Outcome]:
    parents = ancestors()
    outcomes = []
    for item in items:
        messages, events = assistant.first_turn(item["text"])
        route, request_type, citation = route_of(events, messages)
        outcomes.append(Outcome(
            text=item["text"], expect=item["expect"], route=route,
            right=judge(item, route, request_type, citation, parents),
            request_type=request_type,
            heading=citation.get("heading") if citation else None,
            anchor=citation.get("anchor") if citation else None,
        ))
    return outcomes


def scores(outcomes: list[Outcome]) -> dict[str, float]:
    """Per expected route, the share of messages handled right."""
    by_expect: dict[str, list[bool]] = {}
    for o in outcomes:
        by_expect.setdefault(o.expect, []).append(o.right)
    return {expect: sum(rights) / len(rights) for expect, rights in by_expect.items()}


def table(outcomes: list[Outcome]) -> str:
    """Markdown: per expected route, how many were right and where they all went."""
    header = ("| expected | n | right | " + " | ".join(f"→ {r}" for r in ROUTES) + " |\n"
              "| --- | ---: | ---: | " + " | ".join("---:" for _ in ROUTES) + " |\n")
    rows = []
    for expect in ROUTES:
        mine = [o for o in outcomes if o.expect == expect]
        if not mine:
            continue
        went = Counter(o.route for o in mine)
        right = sum(o.right for o in mine)
        rows.append(f"| {expect} | {len(mine)} | {right} ({right / len(mine):.0%}) | "
                    + " | ".join(str(went.get(r, 0)) for r in ROUTES) + " |")
    return header + "\n".join(rows)


def _stack_env(var_dir: str) -> dict[str, str]:
    return resolve({**os.environ, "VAR_DIR": var_dir, "BACKEND_PORT": str(free_port()),
                    "ACTION_SERVER_PORT": str(free_port()), "RASA_PORT": str(free_port())})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", type=Path, help="a labelled set, e.g. tests/heldout/routing.yml")
    parser.add_argument("--json", type=Path, help="write every message's outcome here")
    args = parser.parse_args(argv)
    items = load_items(args.set)
    with tempfile.TemporaryDirectory() as var_dir:
        env = _stack_env(var_dir)
        with Stack(env):
            outcomes = evaluate(Assistant(env), items)
    print(table(outcomes))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n",
                             encoding="utf-8")
        print(f"outcomes written to {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
