"""The API authenticates with a token per user."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_a_token_is_issued_for_a_username_and_password(alice):
    client = APIClient()
    answer = client.post(reverse("api:token"), {"username": "alice", "password": "pw"})
    assert answer.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    assert client.get(reverse("api:api-root")).status_code == 200


@pytest.mark.django_db
def test_without_a_token_the_api_answers_401():
    assert APIClient().get(reverse("api:api-root")).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(reverse("api:api-root")).status_code == 401
