from django.contrib import admin
from revy.contrib.django.admin import RevyAdminMixin

from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.reviews.admin import ReviewedAdminMixin


@admin.register(Invoice)
class InvoiceAdmin(ReviewedAdminMixin, RevyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "organization", "amount", "currency", "local_amount", "is_paid"]
    list_filter = ["is_paid", "currency"]
    search_fields = ["number"]
    readonly_fields = ["rate_checked_at"]
