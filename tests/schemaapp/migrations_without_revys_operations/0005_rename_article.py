import importlib

Migration = importlib.import_module(
    "tests.schemaapp.migrations.0005_rename_article"
).Migration
