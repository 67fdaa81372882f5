"""Custom Rasa input/output channels. Loaded by the Rasa server (the .venv-rasa environment),
named in credentials.yml."""
