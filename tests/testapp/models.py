"""Models of the test project: the seed README's examples and every field type."""

import uuid

from django.conf import settings
from django.db import models

from revy.contrib.django.models import CASCADE, SET, SET_DEFAULT, SET_NULL


class Organization(models.Model):
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organizations"
    )


class Comment(models.Model):
    text = models.TextField()
    is_marked_as_spam = models.BooleanField(default=False)


class SpamComment(Comment):
    """A proxy: recorded as its concrete model, Comment."""

    class Meta:
        proxy = True


class Invoice(models.Model):
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    exchange_rate = models.DecimalField(max_digits=12, decimal_places=4)
    local_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)


class Place(models.Model):
    name = models.CharField(max_length=100)


class Restaurant(Place):
    """Multi-table inheritance: the child's fields and the parent's are recorded."""

    serves_pizza = models.BooleanField(default=False)


class UUIDItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)


class CodeItem(models.Model):
    code = models.CharField(primary_key=True, max_length=20)
    name = models.CharField(max_length=50)


class UUIDItemPart(models.Model):
    """A cascade's rows pointing at keys that are UUIDs."""

    item = models.ForeignKey(UUIDItem, on_delete=CASCADE, related_name="parts")


class CodeItemPart(models.Model):
    """A cascade's rows pointing at keys that are text."""

    item = models.ForeignKey(CodeItem, on_delete=CASCADE, related_name="parts")


class ColumnKeyItem(models.Model):
    """A key whose column is named otherwise (Django's custom_pk.Employee)."""

    number = models.IntegerField(primary_key=True, db_column="item_number")
    name = models.CharField(max_length=50)


class Untracked(models.Model):
    name = models.CharField(max_length=50)
    follows = models.ManyToManyField(
        "self", symmetrical=False, related_name="followers", blank=True
    )


class Counter(models.Model):
    value = models.IntegerField(default=0)


class EveryField(models.Model):
    """One field of every built-in type whose values revy must round-trip."""

    char = models.CharField(max_length=100, blank=True, default="")
    text = models.TextField(blank=True, default="")
    slug = models.SlugField(blank=True, default="")
    email = models.EmailField(blank=True, default="")
    url = models.URLField(blank=True, default="")
    small = models.SmallIntegerField(null=True)
    integer = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    positive_small = models.PositiveSmallIntegerField(null=True)
    positive = models.PositiveIntegerField(null=True)
    positive_big = models.PositiveBigIntegerField(null=True)
    floating = models.FloatField(null=True)
    decimal = models.DecimalField(max_digits=20, decimal_places=10, null=True)
    boolean = models.BooleanField(null=True)
    date = models.DateField(null=True)
    datetime = models.DateTimeField(null=True)
    time = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    uuid = models.UUIDField(null=True)
    json = models.JSONField(null=True)
    binary = models.BinaryField(null=True)
    ip = models.GenericIPAddressField(null=True)
    file = models.FileField(blank=True, default="")
    foreign = models.ForeignKey(
        Comment, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    one = models.OneToOneField(
        Place, null=True, on_delete=models.SET_NULL, related_name="+"
    )


class PlainColumns(models.Model):
    """A column of each kind that history inserts plan themselves: no
    field that computes its value on save (tests/test_inserting.py)."""

    char = models.CharField(max_length=100)
    text = models.TextField()
    big = models.BigIntegerField()
    positive_big = models.PositiveBigIntegerField()
    floating = models.FloatField()
    decimal = models.DecimalField(max_digits=20, decimal_places=10)
    boolean = models.BooleanField()
    date = models.DateField()
    datetime = models.DateTimeField()
    time = models.TimeField()
    uuid = models.UUIDField()
    json = models.JSONField()
    duration = models.DurationField(null=True)
    ip = models.GenericIPAddressField(null=True)


# Deletion handlers (issue 4) -------------------------------------------------
# revy's CASCADE, SET, SET_NULL and SET_DEFAULT, as the seed README uses them.


class Publisher(models.Model):
    name = models.CharField(max_length=100)


class Shelf(models.Model):
    name = models.CharField(max_length=100)


class Editor(models.Model):
    """Deleting a Publisher or a Shelf cascades here, and on to Book.editor."""

    name = models.CharField(max_length=100)
    publisher = models.ForeignKey(
        Publisher, on_delete=CASCADE, null=True, blank=True, related_name="editors"
    )
    shelf = models.ForeignKey(
        Shelf, on_delete=CASCADE, null=True, blank=True, related_name="editors"
    )


class Book(models.Model):
    """Shelf -> Book -> Page is a three-level CASCADE chain."""

    title = models.CharField(max_length=100)
    shelf = models.ForeignKey(Shelf, on_delete=CASCADE, related_name="books")
    editor = models.ForeignKey(
        Editor, on_delete=SET_NULL, null=True, blank=True, related_name="books"
    )


class Page(models.Model):
    """Nothing points here, so Django fast-deletes pages by queryset."""

    book = models.ForeignKey(Book, on_delete=CASCADE, related_name="pages")
    number = models.IntegerField()


class Note(models.Model):
    """Deleting a Shelf fast-deletes its notes and sets the editor of the
    notes of its editors: a SET_NULL that may name rows the delete removes."""

    shelf = models.ForeignKey(Shelf, on_delete=CASCADE, related_name="notes")
    editor = models.ForeignKey(
        Editor, on_delete=SET_NULL, null=True, blank=True, related_name="notes"
    )
    text = models.CharField(max_length=100, blank=True, default="")


class Category(models.Model):
    code = models.CharField(primary_key=True, max_length=20)


def archive_category():
    """The SET(callable) of Django's documentation: it returns an instance."""
    return Category.objects.get(code="archive")


class Task(models.Model):
    title = models.CharField(max_length=100)
    # SET_DEFAULT: back to the "general" category.
    category = models.ForeignKey(
        Category, on_delete=SET_DEFAULT, default="general", related_name="tasks"
    )
    # SET(value): to the "archive" category, given by its key.
    fallback = models.ForeignKey(
        Category, on_delete=SET("archive"), null=True, blank=True, related_name="+"
    )
    # SET(callable): to what archive_category() returns, a Category.
    sentinel = models.ForeignKey(
        Category,
        on_delete=SET(archive_category),
        null=True,
        blank=True,
        related_name="+",
    )


class Album(models.Model):
    title = models.CharField(max_length=100)


class Photo(models.Model):
    """Nothing points here: an Album's photos are fast-deleted."""

    album = models.ForeignKey(Album, on_delete=CASCADE, related_name="photos")
    caption = models.CharField(max_length=100, blank=True, default="")


# Many-to-many (issue 4) ------------------------------------------------------


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Article(models.Model):
    title = models.CharField(max_length=100)
    tags = models.ManyToManyField(Tag, related_name="articles", blank=True)


class Player(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)


class Team(models.Model):
    name = models.CharField(max_length=50)
    players = models.ManyToManyField(
        Player, through="Membership", related_name="teams", blank=True
    )


class Membership(models.Model):
    """An explicit through model with a field of its own."""

    team = models.ForeignKey(Team, on_delete=CASCADE)
    player = models.ForeignKey(Player, on_delete=CASCADE)
    role = models.CharField(max_length=20, default="member")


# A field of a project's own, converting values in its own way -----------------


class Length:
    """A length in metres, as a project's own field might hold it."""

    def __init__(self, metres: str) -> None:
        self.metres = metres

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Length) and other.metres == self.metres

    def __hash__(self) -> int:
        return hash(self.metres)


class LengthField(models.CharField):
    """Holds a Length, stores its metres as text; says that it round-trips."""

    revy_encodable = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        return value.metres if isinstance(value, Length) else value

    def from_db_value(self, value, expression, connection):
        return None if value is None else Length(value)

    def to_python(self, value):
        if value is None or isinstance(value, Length):
            return value
        return Length(value)


class Measured(models.Model):
    length = LengthField(null=True)


class OddNames(models.Model):
    """A field name Django accepts that SQL and JSON must quote."""


OddNames.add_to_class("it's", models.CharField(max_length=20, default=""))


class CountingTagsManager(models.Manager):
    """A base manager that annotates an aggregate: its queries GROUP BY."""

    def get_queryset(self):
        return super().get_queryset().annotate(tag_count=models.Count("tags"))


class Annotated(models.Model):
    name = models.CharField(max_length=50)
    tags = models.ManyToManyField(Tag, blank=True, related_name="+")

    objects = CountingTagsManager()

    class Meta:
        base_manager_name = "objects"


# Django's own kinds of models that revy must record as Django writes them ---


class Musician(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Band(models.Model):
    name = models.CharField(max_length=50)
    members = models.ManyToManyField(
        Musician, through="BandMember", related_name="bands", blank=True
    )


class BandMember(models.Model):
    """A through model whose member end refers to a ``to_field``."""

    band = models.ForeignKey(Band, on_delete=CASCADE)
    musician = models.ForeignKey(Musician, on_delete=CASCADE, to_field="name")


class VisibleManager(models.Manager):
    """Hides the rows marked hidden, as a soft delete does. A related
    manager takes out of a relation only the rows its models' default
    managers show."""

    def get_queryset(self):
        return super().get_queryset().filter(hidden=False)


class Badge(models.Model):
    name = models.CharField(max_length=50)
    hidden = models.BooleanField(default=False)

    objects = VisibleManager()


class Wearer(models.Model):
    name = models.CharField(max_length=50)
    hidden = models.BooleanField(default=False)
    badges = models.ManyToManyField(
        Badge, through="Pin", related_name="wearers", blank=True
    )

    objects = VisibleManager()


class Pin(models.Model):
    """A through model whose default manager hides rows too."""

    wearer = models.ForeignKey(Wearer, on_delete=CASCADE)
    badge = models.ForeignKey(Badge, on_delete=CASCADE)
    hidden = models.BooleanField(default=False)

    objects = VisibleManager()


class Person(models.Model):
    """A symmetrical relation: a friend's friends include whoever adds it."""

    name = models.CharField(max_length=50)
    friends = models.ManyToManyField("self", blank=True)


class Pal(models.Model):
    """A symmetrical relation through a model of its own."""

    name = models.CharField(max_length=50)
    friends = models.ManyToManyField("self", through="Palship", blank=True)


class Palship(models.Model):
    from_pal = models.ForeignKey(Pal, on_delete=CASCADE, related_name="+")
    to_pal = models.ForeignKey(Pal, on_delete=CASCADE, related_name="+")


class Sticker(models.Model):
    """Keyed by a text that collations order otherwise than Python."""

    code = models.CharField(primary_key=True, max_length=20)


class Binder(models.Model):
    name = models.CharField(max_length=50)
    stickers = models.ManyToManyField(Sticker, related_name="binders", blank=True)


class Country(models.Model):
    name = models.CharField(max_length=50)


class Citizen(models.Model):
    country = models.ForeignKey(Country, on_delete=CASCADE)
    name = models.CharField(max_length=50)


class Club(models.Model):
    country = models.ForeignKey(Country, on_delete=CASCADE)
    citizens = models.ManyToManyField(
        Citizen, through="ClubMembership", through_fields=("club", "citizen")
    )


class ClubMembership(models.Model):
    """A through model whose ends are multi-column ForeignObjects."""

    country = models.ForeignKey(Country, on_delete=CASCADE)
    club_id = models.IntegerField()
    citizen_id = models.IntegerField()
    club = models.ForeignObject(
        Club,
        on_delete=CASCADE,
        from_fields=["country", "club_id"],
        to_fields=["country", "id"],
        related_name="+",
    )
    citizen = models.ForeignObject(
        Citizen,
        on_delete=CASCADE,
        from_fields=["country", "citizen_id"],
        to_fields=["country", "id"],
        related_name="+",
    )


class TeamName:
    """A value that is not a string: its field converts it on the way in."""

    def __init__(self, title):
        self.title = title

    def __eq__(self, other):
        return isinstance(other, TeamName) and other.title == self.title

    def __hash__(self):
        return hash(self.title)


class TeamNameField(models.CharField):
    """Converts in get_db_prep_save, as Django's own serializers tests do."""

    revy_encodable = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 100)
        super().__init__(*args, **kwargs)

    def get_db_prep_save(self, value, connection):
        return None if value is None else value.title

    def to_python(self, value):
        return (
            value if value is None or isinstance(value, TeamName) else TeamName(value)
        )

    def from_db_value(self, value, expression, connection):
        return None if value is None else TeamName(value)


class TeamPlayer(models.Model):
    name = models.CharField(max_length=50)
    team = TeamNameField(null=True)


class WrappedKey:
    def __init__(self, value):
        self.value = value


class WrappedKeyField(models.BigAutoField):
    """A key whose to_python refuses what its from_db_value returns."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else WrappedKey(value)

    def get_prep_value(self, value):
        if isinstance(value, WrappedKey):
            value = value.value
        return super().get_prep_value(value)


class WrappedKeyRow(models.Model):
    id = WrappedKeyField(primary_key=True)
    name = models.CharField(max_length=20, default="")
