"""The two CLIs, run as the operator runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.knowledge.conftest import KNOWLEDGE_DIR, ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "privacy_kb.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_search_json() -> None:
    done = _run("search", "can my kid use this?", "--top", "2", "--json",
                "--dir", str(KNOWLEDGE_DIR))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert len(out["hits"]) == 2
    assert out["answer"]["heading"] == "Collection and Use of Children’s Information"
    assert out["answer"]["anchor"] == "collection-and-use-of-childrens-information"


def test_search_off_topic_abstains() -> None:
    done = _run("search", "tell me a joke", "--json", "--dir", str(KNOWLEDGE_DIR))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answer"] is None


def test_import_seed_writes_the_document(tmp_path: Path) -> None:
    seed = tmp_path / "page.md"
    seed.write_text("[Skip to content](#content)\n\nUS Privacy Statement\n"
                    "====================\n\nWe care.\n\nContact Us\n----------\n\n"
                    "Write to us.\n\n![logo](x.png)\n* [Careers](#)\n", encoding="utf-8")
    out = tmp_path / "doc.md"
    done = _run("import-seed", str(seed), str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "# US Privacy Statement {#us-privacy-statement}" in text
    assert "## Contact Us {#contact-us}" in text
    assert "Careers" not in text and "Skip to content" not in text


def _squad(path: Path) -> None:
    cookies = "We use cookies and web beacons to track your browsing on our website."
    sharing = "We share personal information with advertisers and marketing partners."
    security = "We protect your data with encryption and strict access controls."
    path.write_text(json.dumps({"version": "1", "data": [{
        "title": "example.com",
        "paragraphs": [
            {"context": cookies, "qas": [
                {"id": "1", "question": "Does the site use cookies to track me?",
                 "answers": [{"text": "cookies", "answer_start": 7}]}]},
            {"context": sharing, "qas": [
                {"id": "2", "question": "Who do they share my information with?",
                 "answers": [{"text": "advertisers", "answer_start": 32}]}]},
            {"context": security, "qas": [
                {"id": "3", "question": "How is my data protected?",
                 "answers": [{"text": "encryption", "answer_start": 27}]}]},
            {"context": cookies, "qas": [
                {"id": "4", "question": "What tracking technologies are used?",
                 "answers": [{"text": "web beacons", "answer_start": 23}]}]},
        ]}]}), encoding="utf-8")


def test_bench_policyqa_both_rankers(tmp_path: Path) -> None:
    data = tmp_path / "mini.json"
    _squad(data)
    for extra in ([], ["--baseline"]):
        done = _run("bench", "policyqa", str(data), *extra)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 1
        result = json.loads(lines[0])
        assert set(result) == {"questions", "recall@1", "recall@3", "recall@5", "mrr",
                               "ms_per_query"}
        assert result["questions"] == 4
        assert result["recall@3"] == 1.0  # three distinct segments (one duplicate)
    # "What tracking technologies are used?" shares no word with the cookie segment except
    # through the privacy vocabulary (tracking ~ cookies/beacons): the product finds it.
    product = json.loads(_run("bench", "policyqa", str(data)).stdout)
    assert product["recall@1"] == 1.0
