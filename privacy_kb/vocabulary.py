"""Privacy vocabulary: chat short forms, synonym groups and the words that carry no topic.

The groups are written as plain words; the analyzer reduces them to index keys, so "kids",
"kid" and "Kid's" all land on the same key. A question word in a group is expanded with the
group's other members at a lower weight (see `RankerConfig.expansion_weight`).
"""

from __future__ import annotations

# Chat spellings and short forms, replaced word for word before analysis.
SHORT_FORMS: dict[str, str] = {
    "u": "you",
    "ya": "you",
    "ur": "your",
    "yr": "your",
    "r": "are",
    "wat": "what",
    "wht": "what",
    "whats": "what is",
    "pls": "please",
    "plz": "please",
    "abt": "about",
    "info": "information",
    "infos": "information",
    "ppl": "people",
    "stuff": "information",
    "msg": "message",
    "msgs": "messages",
    "thx": "thanks",
    "wut": "what",
    "kinda": "kind of",
    "yall": "you",
    "y'all": "you",
    "im": "i am",
    "yo": "hey",
    "e-mail": "email",
    "e-mails": "emails",
    "where do you get": "source obtain",
    "where you get": "source obtain",
    "how long": "retain long",
    "opt-out": "optout",
    "opt out": "optout",
    "opting out": "optout",
    "do not track": "donottrack",
    "dnt": "donottrack",
    "ccpa": "california",
    "cpra": "california",
    "year old": "child",
    "year-old": "child",
    "yr old": "child",
    "live in": "resident",
    "living in": "resident",
    "listen in on": "monitor",
    "listen in": "monitor",
    "listen to": "monitor",
    "help desk": "support",
    "helpdesk": "support",
}
# The other US states: a visitor naming theirs asks whether the state rights apply.
US_STATES: tuple[str, ...] = (
    "alabama",
    "alaska",
    "arizona",
    "arkansas",
    "colorado",
    "connecticut",
    "delaware",
    "florida",
    "georgia",
    "hawaii",
    "idaho",
    "illinois",
    "indiana",
    "iowa",
    "kansas",
    "kentucky",
    "louisiana",
    "maine",
    "maryland",
    "massachusetts",
    "michigan",
    "minnesota",
    "mississippi",
    "missouri",
    "montana",
    "nebraska",
    "nevada",
    "new hampshire",
    "new jersey",
    "new mexico",
    "new york",
    "north carolina",
    "north dakota",
    "ohio",
    "oklahoma",
    "oregon",
    "pennsylvania",
    "rhode island",
    "south carolina",
    "south dakota",
    "tennessee",
    "texas",
    "utah",
    "vermont",
    "virginia",
    "west virginia",
    "wisconsin",
    "wyoming",
)
SHORT_FORMS.update({name: "state" for name in US_STATES})

# Each group: words a visitor and the statement use for the same idea.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("sell", "sale", "sold", "selling", "rent", "trade", "monetize"),
    ("share", "disclose", "disclosure", "give", "pass", "transfer"),
    ("delete", "deletion", "erase", "remove", "removal", "wipe", "forget"),
    ("child", "kid", "minor", "teen", "teenager", "underage", "parent", "guardian", "daughter",
     "son"),
    ("advertising", "advertise", "advertisement", "ad", "ads", "marketing", "market",
     "promotional", "promotion", "promo", "newsletter", "spam"),
    ("cookie", "tracking", "track", "tracker", "beacon", "pixel", "donottrack"),
    ("unsubscribe", "optout", "opt", "stop", "preference", "choice"),
    ("retain", "retention", "keep", "store", "storage", "hold", "long"),
    ("secure", "security", "protect", "protection", "safe", "safety", "encryption",
     "encrypt", "hack", "breach", "safeguard"),
    ("change", "update", "modify", "revise", "amend", "correct", "edit"),
    ("access", "copy", "obtain", "download", "see", "view"),
    ("portability", "portable", "export", "port", "transmit", "machine-readable", "csv",
     "json", "xml", "spreadsheet"),
    ("contact", "reach", "email", "write", "address", "mail", "postal", "letter", "office"),
    ("complaint", "complain", "concern"),
    ("partner", "contractor", "supplier", "vendor", "provider", "processor", "affiliate"),
    ("collect", "collection", "gather", "capture", "record"),
    ("data", "information", "detail"),
    ("discriminate", "discrimination", "penalize", "punish", "retaliate"),
    ("california", "resident", "state"),
    ("link", "website", "site", "third-party"),
    ("request", "ask", "submit", "exercise"),
    ("right", "rights", "entitle", "law", "legal"),
    ("password", "credential", "login"),
    ("monitor", "monitored", "eavesdrop", "wiretap", "recording"),
    ("phone", "call", "telephone", "conversation"),
)

# Words that name the privacy domain even outside any group above.
PRIVACY_TERMS: tuple[str, ...] = (
    "privacy", "private", "gdpr", "consent", "identifier", "ip", "location", "browser",
    "device", "payment", "credit", "card", "billing", "demographic", "profile", "account",
    "statement", "policy", "phishing", "fraud", "consumer", "purpose",
    "processing", "third", "party", "broker", "brokers", "anonymize", "identity", "personal",
    "age", "gender", "name", "phone", "cookie",
)

# Verbs the statement uses about personal data that product questions use about their own
# objects ("delete my process", "share a process with my team"): weaker evidence of a privacy
# question than a privacy noun (see `privacy_kb.support`). Groups are named by a member.
ACTION_GROUPS: tuple[str, ...] = (
    "share", "delete", "change", "access", "retain", "portability", "contact", "request",
)

# The product's own nouns that the statement happens to use in another sense ("how we process
# your information", "integrity", "in connection with"): evidence against a privacy question,
# like a word the knowledge base never uses.
PRODUCT_TERMS: tuple[str, ...] = (
    "process", "integration", "connection", "database", "environment", "deployment",
)

# Question words that say nothing about the topic; ignored by the support test.
GENERIC_WORDS: tuple[str, ...] = (
    "boomi", "company", "please", "tell", "want", "like", "need", "get", "let", "thing",
    "way", "happen", "hey", "hi", "hello", "thank", "thanks", "really", "also", "ok", "okay",
    "lol", "anything", "something", "know", "say", "mean", "find", "guy", "folk",
    "exactly", "possible", "allow", "able", "go", "look", "got", "ever",
)

# Question types and the words their answers tend to use ("why" is a stopword, but asks for a
# purpose; "how do i" asks for a procedure). Patterns match the lower-cased question.
QUESTION_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bwhy\b|\bwhat for\b|\breason", ("purpose", "use", "to")),
    (r"\bhow (?:do|can|could|would|should|to) (?:i|we|you)?\b|\bhow \w+ i\b",
     ("contact", "request", "email", "click", "send", "submit")),
    (r"\bwho\b|\bwhom\b", ("third", "party", "partner", "affiliate", "share", "provider")),
    (r"\bwhen\b", ("time", "date", "notify", "period")),
    (r"\bwhere\b", ("location", "store", "server", "country", "transfer")),
)

# The OPP-115 annotation categories (Wilson et al. 2016), which PolicyQA's questions were
# written on, each as the words a policy and a question use for it. A category is one token of
# the `category` field, so a question about sharing meets a segment about disclosure to
# vendors even when no word is shared.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "first-party": ("collect", "collection", "gather", "obtain", "receive", "automatically",
                    "purpose", "use", "usage", "analytics", "improve", "personalize"),
    "third-party": ("third", "party", "parties", "share", "disclose", "disclosure", "sell",
                    "sale", "rent", "affiliate", "partner", "vendor", "advertiser", "provider",
                    "subsidiary", "transfer", "outside", "others", "recipient", "contractor"),
    "choice": ("opt", "optout", "choice", "choose", "preference", "setting", "unsubscribe",
               "consent", "decline", "disable", "control", "option", "withdraw", "refuse"),
    "access": ("access", "edit", "correct", "correction", "update", "review", "delete",
               "deletion", "modify", "remove", "erase", "profile", "request", "inaccurate"),
    "retention": ("retain", "retention", "keep", "store", "storage", "period", "long",
                  "duration", "archive", "indefinitely", "expire"),
    "security": ("secure", "security", "protect", "protection", "encrypt", "encryption",
                 "safeguard", "ssl", "firewall", "unauthorized", "breach", "safe"),
    "policy-change": ("change", "amend", "revise", "notify", "notice", "effective", "post",
                      "material", "modification", "revision"),
    "do-not-track": ("track", "tracking", "donottrack", "signal", "header", "cookie",
                     "beacon", "pixel"),
    "audience": ("child", "minor", "13", "coppa", "parent", "guardian", "age", "california",
                 "europe", "eu", "european", "international", "resident", "country"),
}

# Practices a passage can state about personal data, each as the verbs the statement uses
# for it. A passage states a practice when one of its sentences says so in its own subject
# and verb: "We use and share your information to:", "The personal information we collect can
# include the following:", "We will then retain your information for as long as ...". A
# passage that only mentions the verb in passing ("disclosure of information we collect, use
# or store") does not.
PRACTICE_VERBS: dict[str, tuple[str, ...]] = {
    "collect": ("collect", "obtain", "gather", "receive"),
    "use": ("use",),
    "share": ("share", "disclose", "transfer"),
    "retain": ("retain", "keep", "store"),
}

# Questions that ask which practice applies to their data: what is collected, what it is used
# for, who gets it, how long it is kept. Patterns match the question after `normalize_chat`
# ("how long" reads "retain long"); a question asks only when it also names its data
# (`PRACTICE_OBJECT`), so "why do u have a privacy statement" asks no practice.
PRACTICE_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("collect", r"\b(?:collect|gather|captur|record)\w*|\bwhat (?:kinds?|types?|sorts?) of\b"
                r"|\bwhat (?:personal )?(?:data|information|details)\b|\bsource obtain\b"),
    ("use", r"\bwhy\b|\bwhat\b.*\bfor\b|\bused? (?:\w+ )?for\b|\bwhat do you do with\b"),
    ("share", r"\bwho\b|\b(?:share|sharing|shared|give|giving|pass|passing|disclos\w*"
              r"|transfer\w*)\b"),
    ("retain", r"\bretain\b|\bforever\b|\b(?:keep|keeping|store|storing|hold|holding)\b"),
)
PRACTICE_OBJECT = r"\b(?:data|information|details?|email|emails|phone|personal)\b"
