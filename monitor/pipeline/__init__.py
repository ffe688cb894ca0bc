"""One poll of one feed, from due to committed: decisions, health, incidents, reloads."""
