from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST
{%- if cookiecutter.use_async %}
from revy import Context
{%- endif %}

from {{ cookiecutter.project }}.accounts.services import close_account


@require_POST
@login_required
def close(request: HttpRequest) -> JsonResponse:
    """Close the signed-in user's account. The user is the actor of the deletion."""
    user = request.user
    user_id = user.pk
    close_account(user)
    logout(request)
    return JsonResponse({"closed": user_id})
{%- if cookiecutter.use_async %}


async def whoami(request: HttpRequest) -> JsonResponse:
    """The actor revy records for this request: an async view, run under ASGI."""
    actor = Context.get_actor()
    if actor is None:
        return JsonResponse({"actor": None})
    return JsonResponse({"actor": f"{actor._meta.model_name} {actor}"})
{%- endif %}
