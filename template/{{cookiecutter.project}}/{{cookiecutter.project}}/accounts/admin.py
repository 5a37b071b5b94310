from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from revy.contrib.django.admin import RevyAdminMixin, RevyModelAdmin

from {{ cookiecutter.project }}.accounts.models import Membership, Organization, User


@admin.register(User)
class ProjectUserAdmin(RevyAdminMixin, UserAdmin):
    """Passwords are masked on the history pages by revy's default rule."""


admin.site.unregister(Group)


@admin.register(Group)
class ProjectGroupAdmin(RevyAdminMixin, GroupAdmin):
    pass


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(RevyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(RevyModelAdmin):
    list_display = ["user", "organization", "joined_at"]
    autocomplete_fields = ["user", "organization"]
