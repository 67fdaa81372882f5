"""The converter keeps the statement (every heading, odd sentences included) and nothing else."""

from __future__ import annotations

import re

import pytest

from privacy_kb.seed import SeedFormatError, convert, slugify
from tests.knowledge.conftest import SEED

SEED_MISSING = not SEED.exists()
pytestmark = pytest.mark.skipif(SEED_MISSING, reason=f"seed page not found at {SEED}")

SECTION_HEADINGS = [
    "US Privacy Statement",
    "Overview of Our Privacy Practice",
    "Information We Collect",
    "How We Use and Share Your Information",
    "Your Consumer Privacy Rights",
    "Submitting a Request",
    "Your Marketing Choices",
    "How We Secure Your Information",
    "Collection and Use of Children’s Information",
    "Links to Third-Party Websites and Services",
    "Contact Us",
]
OVERVIEW_ROWS = [
    "Information We Collect About You",
    "How We Use and Share Your Information",
    "Our Use of Cookies and Other Technologies",
    "Accessing, Deleting and Updating Your Information And Contact Us",
    "Special Considerations for California Residents",
    "Your Marketing Choices",
    "Business Partner",
    "Changes To This Privacy Statement",
]
HEADING = re.compile(r"^(#+) (.+?) \{#([a-z0-9-]+)\}$", re.M)


@pytest.fixture(scope="module")
def converted() -> str:
    return convert(SEED.read_text(encoding="utf-8"))


def test_committed_document_is_the_converter_output(converted: str, statement_text: str) -> None:
    assert statement_text == converted


def test_front_matter(converted: str) -> None:
    assert converted.startswith(
        "---\nid: privacy-statement\ntitle: US Privacy Statement\naudience: public\n"
        "source: https://boomi.com/privacy/\n---\n")


def test_every_heading_is_kept_exactly(converted: str) -> None:
    found = [(len(m[1]), m[2]) for m in HEADING.finditer(converted)]
    sections = [text for level, text in found if level <= 2]
    rows = [text for level, text in found if level == 3]
    assert sections == SECTION_HEADINGS
    assert rows == OVERVIEW_ROWS


def test_anchors_are_unique_and_use_the_page_anchors(converted: str) -> None:
    anchors = {m[2]: m[3] for m in HEADING.finditer(converted) if len(m[1]) <= 2}
    all_anchors = [m[3] for m in HEADING.finditer(converted)]
    assert len(all_anchors) == len(set(all_anchors))
    assert anchors["Information We Collect"] == "info-we-collect"
    assert anchors["How We Use and Share Your Information"] == "use-share-info"
    assert anchors["Your Consumer Privacy Rights"] == "privacy-rights"
    assert anchors["Your Marketing Choices"] == "marketing-choices"
    assert anchors["Collection and Use of Children’s Information"] == (
        "collection-and-use-of-childrens-information")
    assert "{#overview-business-partner}" in converted
    assert "{#overview-your-marketing-choices}" in converted


def test_conversion_is_stable(converted: str) -> None:
    assert convert(SEED.read_text(encoding="utf-8")) == converted


@pytest.mark.parametrize("navigation", [
    "Skip to content", "Free Trial", "Partner Login", "日本語", "Deutsch (German)",
    "Terms of Service", "wp-content", "data:image", "You are viewing the privacy policy",
    "Leadership Team", "linkedin.com", "<br>", "| --- |",
])
def test_no_page_chrome(converted: str, navigation: str) -> None:
    assert navigation not in converted


@pytest.mark.parametrize("sentence", [
    "This Standard aligns with Security’s mission to reduce customer risk",
    "* Browse history information about the websites the websites you visit.",
    "* Right to Deletion: you may have the right to request the deletion",
    "a. Sending a written request to [privacy@boomi.com](mailto:privacy@boomi.com), or",
    "* Changes in applicable privacy laws.",
    "Boomi, LP  \nAttention: Boomi’s Privacy Office  \n1 W Elm Street, Suite 200  \n"
    "Conshohocken PA 19428\n",
    "[here](https://boomi.com/privacy/ccp-categories/)",
])
def test_statement_text_is_verbatim(converted: str, sentence: str) -> None:
    assert sentence in converted


def test_ends_with_the_contact_address(converted: str) -> None:
    assert converted.endswith("Conshohocken PA 19428\n")


def test_slugify() -> None:
    assert slugify("Links to Third-Party Websites and Services") == (
        "links-to-third-party-websites-and-services")


def test_page_without_statement_is_rejected() -> None:
    with pytest.raises(SeedFormatError):
        convert("* [Platform](#)\n* [Contact Us](https://boomi.com/company/contact/)\n")
