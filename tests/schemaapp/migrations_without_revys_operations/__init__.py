"""tests/schemaapp's migrations as a project without revy's operations
would have them: 0002 renames ``title`` and 0003 removes ``body`` with
Django's operations alone; the others are the same migrations. The W070
tests point ``MIGRATION_MODULES`` here."""
