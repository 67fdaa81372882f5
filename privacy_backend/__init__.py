"""Backend service for the privacy assistant: rights requests, verification codes, audit."""

__version__ = "0.1.0"
