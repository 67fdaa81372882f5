"""Business logic used by the routers (and the CLI)."""
