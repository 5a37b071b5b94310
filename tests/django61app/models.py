"""Models of features new in Django 6.1 (only installed with Django 6.1+)."""

from django.db import models


class Parent(models.Model):
    name = models.CharField(max_length=20, default="")


class DatabaseCascaded(models.Model):
    """Deleted by the database itself when its parent is deleted."""

    parent = models.ForeignKey(Parent, on_delete=models.DB_CASCADE)
    name = models.CharField(max_length=20, default="")


class DatabaseSetNull(models.Model):
    """Set to NULL by the database itself when its parent is deleted."""

    parent = models.ForeignKey(Parent, on_delete=models.DB_SET_NULL, null=True)


class DatabaseCascadedTwice(models.Model):
    """Deleted by the database when the row its parent's delete took goes."""

    parent = models.ForeignKey(DatabaseCascaded, on_delete=models.DB_CASCADE)


class DatabaseSetDefault(models.Model):
    """Set to its db_default by the database when its parent is deleted."""

    parent = models.ForeignKey(
        Parent, on_delete=models.DB_SET_DEFAULT, null=True, db_default=None
    )
    number = models.IntegerField(default=0)
