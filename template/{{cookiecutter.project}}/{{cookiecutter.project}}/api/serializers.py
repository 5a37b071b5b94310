from rest_framework import serializers

from {{ cookiecutter.project }}.blog.models import Comment, Post
from {{ cookiecutter.project }}.invoices.models import Invoice


class PostSerializer(serializers.ModelSerializer):
    author = serializers.StringRelatedField()

    class Meta:
        model = Post
        fields = ["id", "author", "title", "body", "created_at"]
        read_only_fields = ["created_at"]


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.StringRelatedField()

    class Meta:
        model = Comment
        fields = ["id", "post", "author", "text", "is_marked_as_spam", "created_at"]
        read_only_fields = ["is_marked_as_spam", "created_at"]


class InvoiceSerializer(serializers.ModelSerializer):
    organization = serializers.StringRelatedField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "organization",
            "number",
            "currency",
            "amount",
            "exchange_rate",
            "local_amount",
            "is_paid",
        ]
        read_only_fields = ["number", "currency", "local_amount"]
