"""The state store's contract: every store implementation runs these tests."""
