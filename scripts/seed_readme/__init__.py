"""The examples of the seed README (revy's upstream README), run as written.

``python -m seed_readme`` from ``scripts/`` sets up a throwaway Django
project on SQLite with the models the examples talk about (comments, posts
by users, invoices, organisations), runs each example word for word and
checks the history it recorded. ``make dist`` runs it with the wheel it
built installed in a fresh virtual environment (``--installed`` makes it
refuse a revy imported from anywhere else); a test runs it against the
checkout. Each example is the body of one function in ``__main__``,
between the ``# seed:`` and ``# end of seed`` comments; the rest sets the
scene and reads the history back.
"""
