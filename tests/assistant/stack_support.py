"""What the supervisor hands each process it starts, seen from inside the process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from privacy_assistant.stack import Stack, build_services


def environments_seen(env: dict[str, str], seen: Path) -> dict[str, set[str]]:
    """Start every process of the stack `env` describes, each replaced by a Python one-liner
    that writes the names of its environment to `seen`; the names, by process."""
    stack = Stack(env, services=build_services(env))
    for service in stack.services:
        service.argv = [sys.executable, "-c", "import json, os, sys; open(sys.argv[1], 'a')"
                        ".write(json.dumps(sorted(os.environ)) + '\\n')", str(seen)]
        stack._spawn(service)
        assert service.process is not None
        service.process.wait(timeout=30)
    return dict(zip([s.name for s in stack.services],
                    (set(json.loads(line)) for line in seen.read_text().splitlines()),
                    strict=True))
