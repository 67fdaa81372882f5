"""The domain folder: one file per capability, each a Rasa 3.1 domain of its own, read back
as one domain by `privacy_assistant.domain.load_domain` the way Rasa merges them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from privacy_assistant.domain import DOMAIN_DIR, DomainConflict, load_domain


def test_each_capability_file_is_a_versioned_domain() -> None:
    files = sorted(p.name for p in DOMAIN_DIR.glob("*.yml"))
    assert files == ["appeals.yml", "basics.yml", "explain.yml", "handoff.yml", "knowledge.yml",
                     "marketing.yml", "privacy_opt_outs.yml", "rights_requests.yml", "staff.yml",
                     "verification.yml"]
    for name in files:
        assert yaml.safe_load((DOMAIN_DIR / name).read_text("utf-8"))["version"] == "3.1", name
    assert not (DOMAIN_DIR.parent / "domain.yml").exists()  # one copy of the domain


def test_the_merged_domain_holds_every_part_once() -> None:
    domain = load_domain()
    assert domain["version"] == "3.1"
    assert domain["session_config"] == {"session_expiration_time": 60,
                                        "carry_over_slots_to_new_session": True}
    assert {"greet", "ask_privacy", "request_right", "resend_code", "explain",
            "opt_out_marketing", "request_human", "request_queue", "do_not_sell",
            "limit_sensitive_use"} <= set(domain["intents"])
    assert set(domain["forms"]) == {"rights_request_form", "verification_form",
                                    "status_lookup_form", "marketing_form",
                                    "privacy_opt_out_form", "appeal_form",
                                    "appeal_reason_form"}
    # Every slot a form asks for, and every response a form asks with, is defined somewhere.
    for form in domain["forms"].values():
        for slot in form["required_slots"]:
            assert slot in domain["slots"]
            assert f"utter_ask_{slot}" in domain["responses"]


def test_merging_joins_lists_and_unites_mappings(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text('version: "3.1"\nintents:\n  - greet\n'
                                    "responses:\n  utter_hi:\n    - text: Hi\n")
    (tmp_path / "b.yml").write_text('version: "3.1"\nintents:\n  - bye: {use_entities: []}\n'
                                    "responses:\n  utter_bye:\n    - text: Bye\n")
    assert load_domain(tmp_path) == {
        "version": "3.1", "intents": ["greet", {"bye": {"use_entities": []}}],
        "responses": {"utter_hi": [{"text": "Hi"}], "utter_bye": [{"text": "Bye"}]}}


def test_a_name_defined_in_two_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("responses:\n  utter_hi:\n    - text: Hi\n")
    (tmp_path / "b.yml").write_text("responses:\n  utter_hi:\n    - text: Hello\n")
    with pytest.raises(DomainConflict, match="utter_hi.*a.yml and b.yml"):
        load_domain(tmp_path)
    (tmp_path / "b.yml").write_text("session_config:\n  session_expiration_time: 5\n")
    (tmp_path / "a.yml").write_text("session_config:\n  session_expiration_time: 60\n")
    with pytest.raises(DomainConflict, match="session_config"):
        load_domain(tmp_path)
