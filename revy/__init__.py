"""revy: revision control for the data of Django projects."""

from revy.context import Context, NoActiveContext

__version__ = "0.1.0"

__all__ = ["Context", "NoActiveContext", "__version__"]
