"""revy: revision control for the data of Django projects."""

from revy.context import Context, NoActiveContext

__version__ = "2.0.0a1"

__all__ = ["Context", "NoActiveContext", "__version__"]
