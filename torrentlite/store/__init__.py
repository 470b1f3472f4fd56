"""Storage: the resource registry, SQLite models, reference and demo data."""
