"""Models the proposal tests change: authors and their books, labels (a
many-to-many), reviews that cascade with a book, listings keyed by code."""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=100, unique=True)


class Label(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Book(models.Model):
    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    labels = models.ManyToManyField(Label, related_name="books", blank=True)

    class Meta:
        permissions = [("propose_book", "Can propose changes to book")]


class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    text = models.TextField()


class Listing(models.Model):
    code = models.CharField(max_length=20, primary_key=True)
    title = models.CharField(max_length=100)
