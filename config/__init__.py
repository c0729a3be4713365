"""Configuration: the schema (schema.py), the one reader of context and files (loading.py), pinned tool
versions (versions.py)."""
