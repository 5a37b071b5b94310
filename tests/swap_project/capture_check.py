"""Run in the swapped project once it is migrated: a change is recorded in the
team's history models, with their extra fields at their defaults."""

import django

django.setup()

from django.db import connection  # noqa: E402
from team.models import AttributeDelta, Note, ObjectDelta, Revision  # noqa: E402

import revy  # noqa: E402
from revy.contrib.django.models import (  # noqa: E402
    get_attribute_delta_model,
    get_object_delta_model,
    get_revision_model,
)

assert get_revision_model() is Revision, get_revision_model()
assert get_object_delta_model() is ObjectDelta, get_object_delta_model()
assert get_attribute_delta_model() is AttributeDelta, get_attribute_delta_model()

tables = set(connection.introspection.table_names())
assert {"team_revision", "team_objectdelta", "team_attributedelta"} <= tables, tables
assert not tables & {"revy_revision", "revy_objectdelta", "revy_attributedelta"}, tables

with revy.Context.via_actor(None):
    note = Note.objects.create(title="Minutes")
    note.title = "Minutes, corrected"
    note.save()

revision = Revision.objects.get()
assert (revision.request_id, revision.client_ip, revision.user_agent) == ("", None, "")

deltas = list(ObjectDelta.objects.for_object(note))
assert [d.action for d in deltas] == ["create", "update"], deltas
for delta in deltas:
    assert delta.revision_id == revision.pk
    assert delta.actor is None
    assert delta.source == "web"

update = AttributeDelta.objects.get(object_delta=deltas[1])
assert (update.field_name, update.old_value, update.new_value) == (
    "title",
    "Minutes",
    "Minutes, corrected",
), update
assert AttributeDelta.objects.filter(object_delta=deltas[0]).exists()
assert not AttributeDelta.objects.filter(sensitive=True).exists()
assert revision.actors() == [None], revision.actors()

print("captured in the swapped models")
