from django.contrib import admin
from revy.contrib.django.admin import RevyAdminMixin

from {{ cookiecutter.project }}.blog.models import Comment, Post


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    fields = ["author", "text", "is_marked_as_spam"]
    autocomplete_fields = ["author"]


@admin.register(Post)
class PostAdmin(RevyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "author", "created_at"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["author"]
    inlines = [CommentInline]


@admin.register(Comment)
class CommentAdmin(RevyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "post", "author", "is_marked_as_spam"]
    list_filter = ["is_marked_as_spam"]
    search_fields = ["text"]
    autocomplete_fields = ["post", "author"]
