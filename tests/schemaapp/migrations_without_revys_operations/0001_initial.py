import importlib

Migration = importlib.import_module("tests.schemaapp.migrations.0001_initial").Migration
