"""Filters of the history pages, showing actors and values as the history
command does."""

from typing import Any

from django import template

from {{ cookiecutter.project }}.revisions import table

register = template.Library()


@register.filter
def actor(delta: Any) -> str:
    """Who made a change: "system", the actor, or the actor "(deleted)"."""
    return table.actor_label(delta)


@register.filter
def shown(value: Any, field_name: str) -> Any:
    """A stored value, or "***" for a field that is never shown."""
    return table.masked(field_name, value)
