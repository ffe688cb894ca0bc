"""Rules: the YAML schema, loading with file:line errors, and the pure matcher."""
