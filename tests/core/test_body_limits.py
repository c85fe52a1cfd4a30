"""JSON request bodies over JSON_BODY_MAX_BYTES are refused with 413, in the user's language."""

import json

import pytest
from django.test import RequestFactory, override_settings

from tests.bidflow import bid_through_api, kit_for
from tests.factories import bidder_user, publish_section, register
from trading.bodylimit import body_size

pytestmark = pytest.mark.django_db
FIVE_MB = 5 * 1024 * 1024


def padded(size: int) -> bytes:
    body = json.dumps({"username": "someone", "password": "x", "pad": ""}).encode()
    return body.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(body)) + b'"')


def test_a_5_mb_json_body_gets_413_in_chinese_by_default(api):
    response = api.post("/api/v1/auth/token", padded(FIVE_MB), content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert response.json()["error"]["message"] == "请求内容过大：JSON 内容最多 1024 KiB。"


def test_a_5_mb_json_body_gets_413_in_english(api):
    response = api.post("/api/v1/auth/token", padded(FIVE_MB), content_type="application/json",
                        HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        "The request body is too large: JSON bodies may be at most 1024 KiB.")


def test_the_raw_bank_webhook_is_limited_too(client):
    response = client.post("/api/v1/bank/notifications", padded(FIVE_MB), content_type="application/json")

    assert response.status_code == 413


@override_settings(JSON_BODY_MAX_BYTES=4096)
def test_the_limit_is_exact_and_counts_any_json_media_type(api):
    at_limit = api.post("/api/v1/auth/token", padded(4096), content_type="application/json")
    over = api.post("/api/v1/auth/token", padded(4097), content_type="application/json")
    problem = api.post("/api/v1/auth/token", padded(4097), content_type="application/merge-patch+json")

    assert at_limit.status_code == 400 and at_limit.json()["error"]["code"] == "bad_credentials"
    assert over.status_code == 413 and problem.status_code == 413


def test_a_body_without_content_length_is_measured():
    request = RequestFactory().post("/x", b"{}" + b" " * 100, content_type="application/json")
    del request.META["CONTENT_LENGTH"]

    assert body_size(request) == 102


@override_settings(JSON_BODY_MAX_BYTES=1024)
def test_bid_chunks_are_not_json_and_keep_their_own_limit(api):
    section = publish_section()
    user = bidder_user()
    register(section, user)

    receipt, envelope = bid_through_api(api, kit_for(api, user), section, price="9870000.00",
                                        documents=b"x" * 8192)

    assert len(envelope) > 8192 and receipt["bid_id"]
