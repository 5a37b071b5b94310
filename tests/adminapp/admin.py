"""The admin of the test project: revy's mixin on every tracked model, and
revy's revision admin, registered as a project would."""

from django.contrib import admin

from revy.contrib.django.admin import (
    AttributeDeltaAdmin,
    ObjectDeltaAdmin,
    RevisionAdmin,
    RevyAdminMixin,
    RevyModelAdmin,
)
from revy.contrib.django.models import (
    get_attribute_delta_model,
    get_object_delta_model,
    get_revision_model,
)
from tests.adminapp.models import (
    Author,
    Chapter,
    Code,
    DraftNovel,
    Edition,
    Gadget,
    Genre,
    Novel,
    Review,
)


class ChapterInline(admin.TabularInline):
    model = Chapter
    extra = 0


@admin.register(Novel)
class NovelAdmin(RevyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "status", "author"]
    inlines = [ChapterInline]

    def has_view_history_permission(self, request, obj=None):
        # An object-level rule: nobody reads the history of a "secret" novel.
        if obj is not None and obj.title.startswith("secret"):
            return False
        return super().has_view_history_permission(request, obj)


for model in (Author, Genre, Chapter, Review, Edition, DraftNovel, Gadget, Code):
    admin.site.register(model, RevyModelAdmin)

admin.site.register(get_revision_model(), RevisionAdmin)
admin.site.register(get_object_delta_model(), ObjectDeltaAdmin)
admin.site.register(get_attribute_delta_model(), AttributeDeltaAdmin)
