"""The Django integration of revy: add ``"revy.contrib.django"`` to INSTALLED_APPS."""
