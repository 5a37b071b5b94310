"""An encoder revy's SQL does not know (``make bench-scale``'s
``*_python_values`` writes): it encodes as revy's own does, but every value
of a write goes through Python, as those of a field no database's SQL
encodes do."""

from revy.contrib.django.encoding import ValueEncoder


class PythonValueEncoder(ValueEncoder):
    """revy's own encoding, under another class."""
