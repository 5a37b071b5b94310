"""Where earlier releases documented ``NotRecordable``; it lives in
``revy.contrib.django.exceptions`` now, and stays importable from here."""

from revy.contrib.django.exceptions import NotRecordable

__all__ = ["NotRecordable"]
