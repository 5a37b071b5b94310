from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from {{ cookiecutter.project }}.blog.models import Post
from {{ cookiecutter.project }}.blog.services import add_comment


@require_POST
@login_required
def comment(request: HttpRequest, pk: int) -> JsonResponse:
    """Comment on a post; the spam check runs in the background (blog/tasks.py)."""
    post = get_object_or_404(Post, pk=pk)
    text = request.POST.get("text", "").strip()
    if not text:
        return JsonResponse({"errors": {"text": ["This field is required."]}}, status=400)
    added = add_comment(post, request.user, text)
    return JsonResponse({"id": added.pk, "text": added.text}, status=201)
