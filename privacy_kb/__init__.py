"""Knowledge engine of the privacy assistant: passages of the privacy statement, searched
lexically and quoted verbatim (see `KnowledgeBase`)."""

from privacy_kb.kb import Answer, Hit, KnowledgeBase

__all__ = ["Answer", "Hit", "KnowledgeBase"]
