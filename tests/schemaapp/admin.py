from django.contrib import admin

from revy.contrib.django.admin import RevyModelAdmin
from tests.schemaapp.models import Note, Post

admin.site.register(Post, RevyModelAdmin)
admin.site.register(Note, RevyModelAdmin)
