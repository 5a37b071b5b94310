"""The admin of the proposal tests' books: revy's mixin, with an inline."""

from django.contrib import admin

from revy.contrib.django.admin import RevyAdminMixin
from tests.proposalapp.models import Book, Review


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0


@admin.register(Book)
class BookAdmin(RevyAdminMixin, admin.ModelAdmin):
    fields = ["title", "pages", "author", "labels"]
    inlines = [ReviewInline]
