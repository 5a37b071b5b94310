"""The admin of the benchmark project: each library's own history page for
its item, 100 entries a page as django-simple-history's and Django's own.

revy: RevyModelAdmin; django-simple-history: SimpleHistoryAdmin;
django-reversion: VersionAdmin; the untracked twin: Django's own history
page (its LogEntry rows).
"""

from django.contrib import admin
from reversion.admin import VersionAdmin
from simple_history.admin import SimpleHistoryAdmin

from benchmarks.models import HistoryItem, PlainItem, ReversionItem, RevyItem
from revy.contrib.django.admin import RevyModelAdmin

site = admin.AdminSite(name="admin")


class RevyItemAdmin(RevyModelAdmin):
    history_per_page = 100


site.register(RevyItem, RevyItemAdmin)
site.register(HistoryItem, SimpleHistoryAdmin)
site.register(ReversionItem, VersionAdmin)
site.register(PlainItem, admin.ModelAdmin)
