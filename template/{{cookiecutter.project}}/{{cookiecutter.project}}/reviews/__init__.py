"""The review workflow: changes that need review are saved as revy proposals,
and reviewers approve, reject or send them back.

Who proposes instead of changing, and who reviews, is decided in rules.py;
what happens on each decision in services.py; the pages are views.py.
"""
