"""Benchmark the running assistant: start-up time, REST turn latency and memory.

Starts the real stack (backend, action server, Rasa server) on free loopback ports with a
throw-away var/ directory, times how long each process takes to answer its health check,
then sends a fixed, bounded list of messages over the REST channel and reports p50/p95
latency per kind of turn and each process's resident memory. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from privacy_assistant.config import resolve
from privacy_assistant.stack import Stack, free_port

TURNS = {
    "small talk (rule + response)": ["hi", "are you a bot?", "thanks"],
    "statement question (custom action + retrieval)": [
        "what data do you collect?", "do u sell my data??", "can my kid use this?",
    ],
    "off-topic (declined)": ["tell me a joke", "reset my platform password"],
}
ROUNDS = 20


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (by process group), in MiB."""
    total_kib = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            stat = (status.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[2]) != pid:  # field 5 of /proc/PID/stat: the process group
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
    return round(total_kib / 1024, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    with tempfile.TemporaryDirectory() as var_dir:
        env = resolve({
            **os.environ,
            "VAR_DIR": var_dir,
            "BACKEND_PORT": str(free_port()),
            "ACTION_SERVER_PORT": str(free_port()),
            "RASA_PORT": str(free_port()),
        })
        stack = Stack(env)
        stack.start()
        try:
            url = f"{env['RASA_URL']}/webhooks/rest/webhook"
            headers = {"Authorization": f"Bearer {env['REST_CHANNEL_TOKEN']}"}
            latencies: dict[str, list[float]] = {kind: [] for kind in TURNS}
            for round_no in range(ROUNDS):
                for kind, messages in TURNS.items():
                    for text in messages:
                        sender = f"bench-{round_no}"
                        t = time.perf_counter()
                        reply = requests.post(url, json={"sender": sender, "message": text},
                                              headers=headers, timeout=30)
                        reply.raise_for_status()
                        latencies[kind].append((time.perf_counter() - t) * 1000)
            result = {
                "ready_after_s": stack.ready_after,
                "turn_ms": {
                    kind: {"p50": round(statistics.median(v), 1),
                           "p95": round(percentile(v, 0.95), 1), "n": len(v)}
                    for kind, v in latencies.items()
                },
                "rss_mib": {s.name: rss_mib(s.process.pid) for s in stack.services
                            if s.process is not None},
            }
        finally:
            stack.stop()
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
