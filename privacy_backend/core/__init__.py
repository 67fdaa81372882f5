"""Settings, database engine and models, secrets and bearer auth, errors, logging, clock."""
