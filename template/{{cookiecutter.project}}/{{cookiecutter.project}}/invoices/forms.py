from django import forms

from {{ cookiecutter.project }}.invoices.models import Invoice


class InvoiceForm(forms.ModelForm):
    class Meta:
        model = Invoice
        fields = ["amount", "exchange_rate", "local_amount"]
