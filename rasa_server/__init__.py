"""Code the Rasa server process loads from endpoints.yml (it runs in `.venv-rasa`)."""
