"""The same 5-field model once per library, with a parent-child pair for cascades.

Each library's models share a prefix: Plain (untracked), Revy (tracked by
revy through REVY_TRACKED_MODELS), Reversion, History (django-simple-history),
Audit (django-auditlog) and, on PostgreSQL only, PgRow and PgStatement
(django-pghistory with row-level and statement-level triggers).
"""

import reversion
from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Item(models.Model):
    text = models.CharField(max_length=50)
    number = models.IntegerField()
    body = models.TextField()
    flag = models.BooleanField()
    moment = models.DateTimeField()

    class Meta:
        abstract = True


class Parent(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        abstract = True


class PlainItem(Item):
    pass


class PlainParent(Parent):
    pass


class PlainChild(Item):
    parent = models.ForeignKey(PlainParent, models.CASCADE)


class PlainMember(Item):
    pass


class PlainGroup(Parent):
    members = models.ManyToManyField(PlainMember, related_name="groups")


class PlainHolder(Parent):
    """Held rows keep pointing here, set to null when it is deleted: a
    parent of its own, so that deleting a PlainParent sets nothing."""


class PlainHeld(Item):
    holder = models.ForeignKey(PlainHolder, models.SET_NULL, null=True)


class RevyItem(Item):
    pass


class RevyParent(Parent):
    pass


class RevyChild(Item):
    parent = models.ForeignKey(RevyParent, models.CASCADE)


class RevyMember(Item):
    """A group's members: RevyItem has no relations, so that deleting items
    is the delete Django makes by filter, as it is for PlainItem."""


class RevyGroup(Parent):
    """Members: the growth benchmark's ``members_as_of()``."""

    members = models.ManyToManyField(RevyMember, related_name="groups")


class RevyHolder(Parent):
    pass


class RevyHeld(Item):
    holder = models.ForeignKey(RevyHolder, models.SET_NULL, null=True)


@reversion.register()
class ReversionItem(Item):
    pass


@reversion.register()
class ReversionParent(Parent):
    pass


@reversion.register()
class ReversionChild(Item):
    parent = models.ForeignKey(ReversionParent, models.CASCADE)


# No database constraint on history_user: the benchmark app's tables are made
# before auth's migrations run. The column stays NULL, so nothing is lost.
class HistoryItem(Item):
    history = HistoricalRecords(user_db_constraint=False)


class HistoryParent(Parent):
    history = HistoricalRecords(user_db_constraint=False)


class HistoryChild(Item):
    parent = models.ForeignKey(HistoryParent, models.CASCADE)
    history = HistoricalRecords(user_db_constraint=False)


class AuditItem(Item):
    pass


class AuditParent(Parent):
    pass


class AuditChild(Item):
    parent = models.ForeignKey(AuditParent, models.CASCADE)


for model in (AuditItem, AuditParent, AuditChild):
    auditlog.register(model)


if settings.PGHISTORY:
    import pghistory

    def track(level):
        """pghistory's tracking of inserts, updates and deletes, at ``level``."""
        return pghistory.track(
            pghistory.InsertEvent(),
            pghistory.UpdateEvent(),
            pghistory.DeleteEvent(),
            level=level,
        )

    @track(pghistory.Row)
    class PgRowItem(Item):
        pass

    @track(pghistory.Row)
    class PgRowParent(Parent):
        pass

    @track(pghistory.Row)
    class PgRowChild(Item):
        parent = models.ForeignKey(PgRowParent, models.CASCADE)

    @track(pghistory.Statement)
    class PgStatementItem(Item):
        pass

    @track(pghistory.Statement)
    class PgStatementParent(Parent):
        pass

    @track(pghistory.Statement)
    class PgStatementChild(Item):
        parent = models.ForeignKey(PgStatementParent, models.CASCADE)
