from django.contrib import admin

from {{ cookiecutter.project }}.invoices.models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "organization", "amount", "currency", "local_amount", "is_paid"]
    list_filter = ["is_paid", "currency"]
    search_fields = ["number"]
    readonly_fields = ["rate_checked_at"]
