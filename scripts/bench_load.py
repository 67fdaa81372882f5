"""Side by side, in one run (part of `make bench`): the stock `rasa init` bot and this
assistant on the same Rasa build, driven by the same load generator with the same turns.

The load generator is a pool of simulated users, each a thread sending REST turns one after
another (the next once the answer is in); every user starts a fresh conversation every
`FRESH_EVERY` turns, as visitors do (an ever-growing conversation makes any bot slow). Each
phase is bounded by a count of turns, after a short warm-up that is not measured.

Phases: the stock bot (small talk; 1 user, then 10); this assistant on one replica (small
talk and statement questions; 1 user, then 10); with PostgreSQL, Redis and HAProxy at hand,
the scaled profile with two replicas behind HAProxy (statement questions, 10 users). Prints
a Markdown table with the ratios, then one JSON line.

The stock bot is created once with `rasa init --no-prompt` into var/bench/stock (trained
there; git-ignored) and served with `rasa run` and the REST channel.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from bench_turns import percentile, rss_mib  # scripts/ is this script's import path
from sqlalchemy.exc import SQLAlchemyError

from privacy_assistant.config import PROJECT_ROOT, resolve
from privacy_assistant.processes import RASA_PYTHON, StackError, free_port, http_ok
from privacy_assistant.scaled import scaled_env, temporary_database
from privacy_assistant.supervisor import Stack

SMALL_TALK = ["hi", "are you a bot?", "thanks"]
QUESTIONS = ["what data do you collect?", "do u sell my data??", "can my kid use this?",
             "how long do you keep my data?", "who do you share my information with?"]
FRESH_EVERY = 5
ONE_USER_TURNS = 100
MANY_USERS, MANY_USERS_TURNS = 10, 40  # turns per user
WARM_UP = 10
STOCK_DIR = PROJECT_ROOT / "var" / "bench" / "stock"
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def drive(url: str, headers: dict[str, str], messages: list[str], users: int,
          turns: int) -> dict[str, Any]:
    """`users` users each sending `turns` turns; latency percentiles (ms) and throughput."""
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    failures: list[str] = []
    empty = 0  # answered 200 with no message (the stock bot has no answer to "thanks")
    lock = threading.Lock()

    def user(number: int) -> None:
        with requests.Session() as http:
            for turn in range(turns):
                sender = f"load-{run}-{number}-{turn // FRESH_EVERY}"
                message = messages[(number + turn) % len(messages)]
                started = time.perf_counter()
                answer = http.post(url, json={"sender": sender, "message": message},
                                   headers=headers, timeout=60)
                took = (time.perf_counter() - started) * 1000
                with lock:
                    nonlocal empty
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code} {answer.text[:80]}")
                    elif not answer.json():
                        empty += 1
                    latencies.append(took)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"users": users, "turns": len(latencies), "failed": len(failures), "empty": empty,
            "turns_per_s": round(len(latencies) / seconds, 1),
            "p50": round(statistics.median(latencies), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1)}


def phases(url: str, headers: dict[str, str], mixes: dict[str, list[str]],
           many: bool = True) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, messages in mixes.items():
        drive(url, headers, messages, 1, WARM_UP)
        results[f"{name}, 1 user"] = drive(url, headers, messages, 1, ONE_USER_TURNS)
        if many:
            results[f"{name}, {MANY_USERS} users"] = drive(url, headers, messages,
                                                           MANY_USERS, MANY_USERS_TURNS)
    return results


# --- the stock bot -----------------------------------------------------------------------
def _stock_model() -> Path:
    models = sorted((STOCK_DIR / "models").glob("*.tar.gz"))
    if not models:
        STOCK_DIR.mkdir(parents=True, exist_ok=True)  # rasa init wants it to exist
        print("Creating and training the stock `rasa init` bot in var/bench/stock ...",
              file=sys.stderr, flush=True)
        subprocess.run([str(RASA_PYTHON.parent / "rasa"), "init", "--no-prompt", "--init-dir",
                        str(STOCK_DIR)], cwd=STOCK_DIR.parent, check=True,
                       stdout=subprocess.DEVNULL)
        models = sorted((STOCK_DIR / "models").glob("*.tar.gz"))
    return models[-1]


@contextmanager
def stock_bot() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    model = _stock_model()
    port = free_port()
    credentials = STOCK_DIR / "bench-credentials.yml"
    credentials.write_text("rest:\n", encoding="utf-8")
    process = subprocess.Popen(
        [str(RASA_PYTHON.parent / "rasa"), "run", "--model", str(model), "--port", str(port),
         "--interface", "127.0.0.1", "--credentials", str(credentials)],
        cwd=STOCK_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while not http_ok(f"{url}/webhooks/rest/"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stock bot did not start")
            time.sleep(0.5)
        yield f"{url}/webhooks/rest/webhook", process
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


# --- this assistant ----------------------------------------------------------------------
@contextmanager
def assistant(var_dir: str, replicas: int = 1, database: str = "") -> Iterator[Stack]:
    """This assistant on free ports; with a `database`, on it and Redis (the scaled
    profile's stores), behind HAProxy when `replicas` > 1."""
    given = {**os.environ, "VAR_DIR": var_dir, "BACKEND_PORT": str(free_port()),
             "ACTION_SERVER_PORT": str(free_port()), "RASA_PORT": str(free_port())}
    for name in ("DATABASE_URL", "TRACKER_STORE_URL", "TRACKER_STORE_DB", "REDIS_URL",
                 "BACKEND_URL", "RASA_URL", "ACTION_SERVER_URL", "SLACK_BOT_TOKEN"):
        given.pop(name, None)
    if database:
        given.update(REDIS_URL=REDIS, TRACKER_STORE_URL=database, DATABASE_URL=database.replace(
            "postgresql://", "postgresql+psycopg2://", 1))
    env = resolve(given)
    if database:
        env = scaled_env(env)
    with Stack(env, replicas=replicas) as stack:
        yield stack


def _headers(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.env['REST_CHANNEL_TOKEN']}"}


def _row(label: str, r: dict[str, Any]) -> str:
    return (f"| {label} | {r['turns_per_s']} | {r['p50']} | {r['p95']} | {r['p99']} | "
            f"{r['turns']} ({r['failed']} failed, {r['empty']} empty) |")


def main() -> None:
    result: dict[str, Any] = {}
    with stock_bot() as (url, process):
        result["stock"] = phases(url, {}, {"small talk": SMALL_TALK})
        result["stock_rss_mib"] = rss_mib(process.pid)
    with tempfile.TemporaryDirectory() as var_dir, assistant(var_dir) as stack:
        url = f"{stack.env['RASA_URL']}/webhooks/rest/webhook"
        result["ours"] = phases(url, _headers(stack), {"small talk": SMALL_TALK,
                                                       "statement questions": QUESTIONS})
        result["ours_rss_mib"] = {s.name: rss_mib(s.process.pid) for s in stack.services
                                  if s.process is not None}
    # One replica, then two behind HAProxy, on the same PostgreSQL and Redis: the scaling
    # factor compares like with like.
    for who, replicas in (("one_replica_shared", 1), ("two_replicas", 2)):
        try:
            with temporary_database(POSTGRES, "pa_bench") as database, \
                    tempfile.TemporaryDirectory() as var_dir, \
                    assistant(var_dir, replicas=replicas, database=database) as stack:
                url = f"{stack.env['RASA_URL']}/webhooks/rest/webhook"
                drive(url, _headers(stack), QUESTIONS, 2, WARM_UP)
                result[who] = {f"statement questions, {MANY_USERS} users": drive(
                    url, _headers(stack), QUESTIONS, MANY_USERS, MANY_USERS_TURNS)}
        except (StackError, SQLAlchemyError) as exc:  # no PostgreSQL, Redis or HAProxy here
            result[who] = {"skipped": str(exc).splitlines()[0]}

    print("| phase | turns/s | p50 ms | p95 ms | p99 ms | turns |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for who in ("stock", "ours", "one_replica_shared", "two_replicas"):
        for phase, r in result[who].items():
            if isinstance(r, dict):
                print(_row(f"{who}: {phase}", r))
    stock_tps = result["stock"][f"small talk, {MANY_USERS} users"]["turns_per_s"]
    one = result["ours"][f"statement questions, {MANY_USERS} users"]
    ratios = {"questions vs stock small talk (10 users)": round(one["turns_per_s"] / stock_tps,
                                                                 2),
              "p99 / p50 (questions, 10 users)": round(one["p99"] / one["p50"], 1)}
    shared = result["one_replica_shared"].get(f"statement questions, {MANY_USERS} users")
    two = result["two_replicas"].get(f"statement questions, {MANY_USERS} users")
    if isinstance(two, dict) and isinstance(shared, dict):
        ratios["two replicas vs one, both on PostgreSQL and Redis (questions, 10 users)"] = \
            round(two["turns_per_s"] / shared["turns_per_s"], 2)
    result["ratios"] = ratios
    print()
    for name, value in ratios.items():
        print(f"{name}: {value}")
    print(f"memory (RSS MiB): stock Rasa {result['stock_rss_mib']}, ours {result['ours_rss_mib']}")
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
