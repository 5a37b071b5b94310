"""An app that replaces ``makemigrations`` with Django's own, as a third-party
app may (tests/test_makemigrations_writes_history_operations.py)."""
