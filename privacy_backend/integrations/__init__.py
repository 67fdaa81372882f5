"""Clients of the other processes the backend calls (Rasa's HTTP API)."""
