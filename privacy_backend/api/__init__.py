"""The JSON API under /api/v1: its dependencies and one route module per resource."""
