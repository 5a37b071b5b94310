import importlib

Migration = importlib.import_module(
    "tests.schemaapp.migrations.0004_retype_count_and_rating"
).Migration
