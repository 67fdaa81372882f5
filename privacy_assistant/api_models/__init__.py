"""The bodies the action server and the backend exchange over `/api/v1`, as pydantic (v2)
models: one module per resource, imported by the backend's schemas (which validate them and
publish them in the OpenAPI document) and by the action server's clients (`actions/api/`,
which read the answers with them).

Only the backend's environment (`.venv`) imports these: the Rasa server's environment pins
pydantic 1 and never needs them.
"""
