"""Account security (DESIGN.md §12): login lockout per account and per IP on every entry point, TOTP codes
once, recovery codes, re-authentication for risky changes, staff enrolment, and API token expiry/revocation."""

import time
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD, agency_user, bidder_user, supervisor_user
from trading.models import ApiToken, RecoveryCode, User
from trading.services import two_factor

pytestmark = pytest.mark.django_db

LIMIT = 3
NEW_PASSWORD = "Another-pass-2027!"


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.TOTP_ATTEMPTS_PER_LOGIN = 5
    settings.REQUIRE_STAFF_2FA = False
    cache.clear()  # DRF's per-IP throttle lives in the cache
    yield
    cache.clear()


def with_totp(user: User) -> User:
    user.totp_secret, user.totp_enabled = pyotp.random_base32(), True
    user.save()
    return user


def code_at(user: User, offset_seconds: int = 0) -> str:
    return pyotp.TOTP(user.totp_secret).at(time.time() + offset_seconds)


def web(ip: str = "10.0.0.1") -> Client:
    return Client(REMOTE_ADDR=ip)


def api(ip: str = "10.0.0.1") -> APIClient:
    return APIClient(REMOTE_ADDR=ip)


def web_login(client: Client, user: User, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": user.username, "password": password})


def token_login(client: APIClient, user: User, password: str = PASSWORD, otp: str | None = None):
    body = {"username": user.username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return client.post("/api/v1/auth/token", body, format="json")


def me(token: str, ip: str = "10.0.0.1"):
    client = api(ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/me")


def assert_web_locked(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "登录失败次数过多" in response.content.decode()


def assert_api_locked(response):
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0


# --- lockout: the HTML login ------------------------------------------------------------------


def test_html_login_locks_the_account_after_failures_from_many_ips_and_says_when():
    user = bidder_user()
    for i in range(LIMIT - 1):
        assert web_login(web(f"10.1.0.{i}"), user, "wrong").status_code == 200
    assert_web_locked(web_login(web("10.1.0.99"), user, "wrong"))  # the failure that reaches the limit
    client = web("10.1.0.200")
    locked = web_login(client, user)  # the right password, from a fresh IP
    assert_web_locked(locked)
    assert "分钟" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    later = timezone.now() + timedelta(minutes=16)
    with time_machine.travel(later):
        assert web_login(web("10.1.0.201"), user)["Location"] == reverse("workspace")


def test_html_login_lock_message_is_english_for_english_users():
    user = bidder_user()
    for i in range(LIMIT):
        web_login(web(f"10.1.1.{i}"), user, "wrong")
    client = web("10.1.1.200")
    client.cookies["django_language"] = "en"
    response = web_login(client, user)
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()


def test_html_login_locks_an_ip_that_tries_many_accounts():
    users = [bidder_user() for _ in range(LIMIT)]
    for user in users:
        web_login(web("10.2.0.1"), user, "wrong")
    fresh = bidder_user()
    assert_web_locked(web_login(web("10.2.0.1"), fresh))
    assert web_login(web("10.2.0.2"), fresh)["Location"] == reverse("workspace")  # only that IP


def test_one_failure_short_of_the_limit_still_logs_in():
    user = bidder_user()
    for i in range(LIMIT - 1):
        web_login(web(f"10.3.0.{i}"), user, "wrong")
    assert web_login(web("10.3.0.99"), user)["Location"] == reverse("workspace")


# --- lockout: the token login -------------------------------------------------------------------


def test_token_login_locks_the_account_after_failures_from_many_ips():
    user = bidder_user()
    for i in range(LIMIT - 1):
        assert token_login(api(f"10.4.0.{i}"), user, "wrong").json()["error"]["code"] == "bad_credentials"
    assert_api_locked(token_login(api("10.4.0.99"), user, "wrong"))
    locked = token_login(api("10.4.0.200"), user)
    assert_api_locked(locked)
    assert "登录失败次数过多" in locked.json()["error"]["message"]
    assert not ApiToken.objects.filter(user=user).exists()


def test_token_login_locks_an_ip_that_tries_many_accounts():
    for _ in range(LIMIT):
        token_login(api("10.5.0.1"), bidder_user(), "wrong")
    fresh = bidder_user()
    assert_api_locked(token_login(api("10.5.0.1"), fresh))
    assert "token" in token_login(api("10.5.0.2"), fresh).json()


def test_failed_html_logins_count_toward_the_token_login_lock():
    user = bidder_user()
    for i in range(LIMIT):
        web_login(web(f"10.6.0.{i}"), user, "wrong")
    assert_api_locked(token_login(api("10.6.0.99"), user))


# --- lockout: the TOTP step ------------------------------------------------------------------


def test_wrong_totp_codes_from_many_ips_lock_the_account():
    user = with_totp(agency_user())
    for i in range(LIMIT):
        client = web(f"10.7.0.{i}")
        assert web_login(client, user)["Location"] == reverse("login_verify")
        client.post(reverse("login_verify"), {"code": "000000"})
    client = web("10.7.0.200")
    assert_web_locked(web_login(client, user))
    assert_api_locked(token_login(api("10.7.0.201"), user, otp=code_at(user)))


def test_wrong_totp_codes_from_one_ip_lock_that_ip_for_other_accounts():
    for _ in range(LIMIT):
        user = with_totp(agency_user())
        client = web("10.8.0.1")
        web_login(client, user)
        client.post(reverse("login_verify"), {"code": "000000"})
    fresh = bidder_user()
    assert_web_locked(web_login(web("10.8.0.1"), fresh))
    assert web_login(web("10.8.0.2"), fresh)["Location"] == reverse("workspace")


def test_a_lock_reached_during_the_totp_step_ends_the_pending_login():
    user = with_totp(agency_user())
    client = web("10.9.0.1")
    web_login(client, user)
    for _ in range(LIMIT):
        client.post(reverse("login_verify"), {"code": "000000"})
    response = client.post(reverse("login_verify"), {"code": code_at(user)})
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_wrong_api_otp_counts_toward_the_lock():
    user = with_totp(agency_user())
    for i in range(LIMIT):
        assert token_login(api(f"10.10.0.{i}"), user, otp="000000").json()["error"]["code"] == "otp_required"
    assert_api_locked(token_login(api("10.10.0.200"), user, otp=code_at(user)))


# --- TOTP: once per code, limited attempts per pending login ------------------------------------


def test_a_totp_code_is_accepted_only_once_on_the_web():
    user = with_totp(agency_user())
    code = code_at(user)
    first = web()
    web_login(first, user)
    assert first.post(reverse("login_verify"), {"code": code})["Location"] == reverse("workspace")
    second = web()
    web_login(second, user)
    replay = second.post(reverse("login_verify"), {"code": code})
    assert replay.status_code == 200 and "验证码错误或已过期" in replay.content.decode()
    assert "_auth_user_id" not in second.session


def test_a_totp_code_is_accepted_only_once_by_the_token_login():
    user = with_totp(agency_user())
    code = code_at(user)
    assert "token" in token_login(api(), user, otp=code).json()
    assert token_login(api(), user, otp=code).json()["error"]["code"] == "otp_required"
    assert "token" in token_login(api(), user, otp=code_at(user, 30)).json()  # the next step's code


def test_an_older_code_than_the_last_used_one_is_refused():
    user = with_totp(agency_user())
    assert two_factor.totp_verify(user=user, code=code_at(user, 30))
    assert not two_factor.totp_verify(user=user, code=code_at(user))


def test_pending_login_is_discarded_after_the_attempt_limit(settings):
    settings.AXES_FAILURE_LIMIT = 100  # the per-login limit, not the lockout, is under test
    user = with_totp(agency_user())
    client = web()
    web_login(client, user)
    for _ in range(4):
        assert client.post(reverse("login_verify"), {"code": "000000"}).status_code == 200
    fifth = client.post(reverse("login_verify"), {"code": "000000"})
    assert fifth["Location"] == reverse("login")
    right = client.post(reverse("login_verify"), {"code": code_at(user)})
    assert right["Location"] == reverse("login")  # the password must be given again
    assert "_auth_user_id" not in client.session
    web_login(client, user)
    assert client.post(reverse("login_verify"), {"code": code_at(user)})["Location"] == reverse("workspace")


def test_25_wrong_codes_then_the_right_one_is_not_accepted(settings):
    settings.AXES_FAILURE_LIMIT = 100
    user = with_totp(agency_user())
    client = web()
    web_login(client, user)
    for _ in range(25):
        client.post(reverse("login_verify"), {"code": "000000"})
    client.post(reverse("login_verify"), {"code": code_at(user)})
    assert "_auth_user_id" not in client.session


# --- recovery codes -----------------------------------------------------------------------------


def enrol(client: Client, user: User) -> list[str]:
    """Set up 2FA through the security page; returns the recovery codes shown once."""
    client.force_login(user)
    client.post(reverse("security"), {"action": "begin"})
    user.refresh_from_db()
    page = client.post(
        reverse("security"), {"action": "confirm", "code": pyotp.TOTP(user.totp_pending_secret).now()}
    )
    assert page.status_code == 200
    user.refresh_from_db()
    return page.context["codes"]


def test_enrolment_shows_ten_recovery_codes_once_and_stores_only_hashes():
    user = agency_user()
    client = web()
    codes = enrol(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(RecoveryCode.objects.filter(user=user).values_list("digest", flat=True))
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert all(code not in client.get(reverse("security")).content.decode() for code in codes)


def test_a_recovery_code_logs_in_once():
    user = agency_user()
    codes = enrol(web(), user)
    first = web()
    web_login(first, user)
    assert first.post(reverse("login_verify"), {"code": codes[0].upper()})["Location"] == reverse("workspace")
    second = web()
    web_login(second, user)
    assert second.post(reverse("login_verify"), {"code": codes[0]}).status_code == 200
    assert "_auth_user_id" not in second.session
    assert "token" in token_login(api(), user, otp=codes[1]).json()
    assert token_login(api(), user, otp=codes[1]).json()["error"]["code"] == "otp_required"


def test_regenerating_recovery_codes_needs_password_and_code_and_voids_the_old_ones():
    user = agency_user()
    client = web()
    old = enrol(client, user)
    refused = client.post(reverse("security"), {"action": "recovery", "recovery-password": PASSWORD,
                                                "recovery-code": "000000"})
    assert refused.status_code == 400 and "codes" not in refused.context
    page = client.post(reverse("security"), {"action": "recovery", "recovery-password": PASSWORD,
                                             "recovery-code": code_at(user, 30)})
    new = page.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert not two_factor.recovery_code_use(user=user, code=old[2])
    assert two_factor.recovery_code_use(user=user, code=new[2])


# --- switching 2FA off, replacing the key, changing the password ---------------------------------


def test_switching_2fa_off_needs_the_password_and_a_current_code():
    user = agency_user()
    client = web()
    enrol(client, user)
    for password, code in [("", ""), ("wrong", code_at(user, 30)), (PASSWORD, ""), (PASSWORD, "000000")]:
        response = client.post(reverse("security"), {"action": "disable", "disable-password": password,
                                                     "disable-code": code})
        assert response.status_code == 400
        user.refresh_from_db()
        assert user.totp_enabled
    response = client.post(reverse("security"), {"action": "disable", "disable-password": PASSWORD,
                                                  "disable-code": code_at(user, 30)})
    assert response["Location"] == reverse("security")
    user.refresh_from_db()
    assert not user.totp_enabled and not user.totp_secret
    assert not RecoveryCode.objects.filter(user=user).exists()


def test_replacing_the_key_needs_reauthentication_and_never_switches_2fa_off():
    user = agency_user()
    client = web()
    enrol(client, user)
    old_secret = user.totp_secret
    assert client.post(reverse("security"), {"action": "begin", "begin-password": PASSWORD}).status_code == 400
    user.refresh_from_db()
    assert not user.totp_pending_secret
    client.post(reverse("security"), {"action": "begin", "begin-password": PASSWORD,
                                      "begin-code": code_at(user, 30)})
    user.refresh_from_db()
    assert user.totp_pending_secret and user.totp_enabled and user.totp_secret == old_secret


def test_staff_who_must_use_2fa_cannot_switch_it_off(settings):
    user = agency_user()
    client = web()
    enrol(client, user)
    settings.REQUIRE_STAFF_2FA = True
    client.post(reverse("security"), {"action": "disable", "disable-password": PASSWORD,
                                      "disable-code": code_at(user, 30)})
    user.refresh_from_db()
    assert user.totp_enabled


def change_password(client: Client, *, old: str, code: str = "", new: str = NEW_PASSWORD):
    return client.post(reverse("password_change"), {"password": old, "code": code, "new_password": new,
                                                    "new_password_again": new})


def test_password_change_needs_the_password_and_with_2fa_a_code():
    user = agency_user()
    client = web()
    enrol(client, user)
    assert change_password(client, old="wrong", code=code_at(user, 30)).status_code == 400
    assert change_password(client, old=PASSWORD).status_code == 400
    assert change_password(client, old=PASSWORD, code="000000").status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    response = change_password(client, old=PASSWORD, code=code_at(user, 30))
    assert response["Location"] == reverse("api_tokens")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get(reverse("api_tokens")).status_code == 200  # this session stays logged in


def test_bidder_changes_password_with_the_old_one_and_a_valid_new_one():
    user = bidder_user()
    client = web()
    client.force_login(user)
    assert change_password(client, old=PASSWORD, new="123").status_code == 400
    assert change_password(client, old=PASSWORD)["Location"] == reverse("api_tokens")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


# --- staff enrolment --------------------------------------------------------------------------


@pytest.mark.parametrize("make_user", [agency_user, supervisor_user])
def test_staff_without_2fa_can_only_enrol_when_required(settings, make_user):
    settings.REQUIRE_STAFF_2FA = True
    user = make_user()
    client = web()
    assert web_login(client, user)["Location"] == reverse("workspace")
    assert client.get(reverse("workspace"))["Location"] == reverse("security")
    assert client.get("/api/v1/me").status_code == 403
    assert client.get(reverse("security")).status_code == 200
    response = token_login(api(), user)
    assert response.status_code == 403 and response.json()["error"]["code"] == "2fa_setup_required"
    enrol(client, user)
    assert client.get(reverse("workspace")).status_code == 302  # on to the role's own workspace
    assert client.get(reverse("workspace"))["Location"] != reverse("security")
    assert client.get("/api/v1/me").status_code == 200


def test_admin_without_2fa_is_sent_to_enrol_when_required(settings):
    settings.REQUIRE_STAFF_2FA = True
    admin = supervisor_user()
    admin.role = User.Role.ADMIN
    admin.save()
    client = web()
    client.force_login(admin)
    assert client.get(reverse("workspace"))["Location"] == reverse("security")


def test_staff_enrolment_is_not_forced_in_the_embedded_default_nor_for_bidders(settings):
    client = web()
    agency = agency_user()
    client.force_login(agency)
    assert client.get(reverse("workspace"))["Location"] != reverse("security")
    settings.REQUIRE_STAFF_2FA = True
    bidder = web()
    bidder.force_login(bidder_user())
    assert bidder.get("/api/v1/me").status_code == 200


def test_old_token_of_staff_without_2fa_stops_working_when_2fa_is_required(settings):
    user = agency_user()
    token = ApiToken.issue(user)
    assert me(token).status_code == 200
    settings.REQUIRE_STAFF_2FA = True
    assert me(token).status_code == 401


def test_production_env_example_requires_staff_2fa():
    from tests.core.test_env_example import EXAMPLE

    assert "\nREQUIRE_STAFF_2FA=1\n" in EXAMPLE.read_text(encoding="utf-8")


# --- API tokens: expiry and revocation ------------------------------------------------------------


def test_a_token_works_until_its_lifetime_is_over_and_records_its_use(settings):
    settings.API_TOKEN_TTL_HOURS = 24
    user = bidder_user()
    issued = timezone.now()
    with time_machine.travel(issued, tick=False):
        token = token_login(api(), user).json()["token"]
    stored = ApiToken.objects.get(user=user)
    assert stored.expires_at == stored.created_at + timedelta(hours=24)
    with time_machine.travel(issued + timedelta(hours=24) - timedelta(seconds=1), tick=False):
        assert me(token).status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    with time_machine.travel(issued + timedelta(hours=24), tick=False):
        assert me(token).status_code == 401


def test_logout_revokes_the_presenting_token_only():
    user = bidder_user()
    first, second = token_login(api(), user).json()["token"], token_login(api(), user).json()["token"]
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {first}")
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert me(first).status_code == 401
    assert me(second).status_code == 200


def test_logout_needs_authentication():
    assert api().post("/api/v1/auth/logout").status_code == 401


def test_tokens_page_lists_active_tokens_without_the_secret_and_revokes():
    user = bidder_user()
    raw = ApiToken.issue(user)
    stored = ApiToken.objects.get(user=user)
    client = web()
    client.force_login(user)
    html = client.get(reverse("api_tokens")).content.decode()
    assert raw not in html and stored.digest not in html
    assert timezone.localtime(stored.expires_at).strftime("%Y-%m-%d %H:%M") in html
    assert f'name="token" value="{stored.pk}"' in html
    response = client.post(reverse("api_tokens"), {"token": stored.pk})
    assert response["Location"] == reverse("api_tokens")
    assert me(raw).status_code == 401


def test_tokens_page_cannot_revoke_another_users_token():
    owner, other = bidder_user(), bidder_user()
    raw = ApiToken.issue(owner)
    client = web()
    client.force_login(other)
    client.post(reverse("api_tokens"), {"token": ApiToken.objects.get(user=owner).pk})
    assert me(raw).status_code == 200
    assert 'name="token"' not in client.get(reverse("api_tokens")).content.decode()


def test_tokens_page_hides_expired_tokens(settings):
    settings.API_TOKEN_TTL_HOURS = 1
    user = bidder_user()
    ApiToken.issue(user)
    ApiToken.objects.filter(user=user).update(created_at=timezone.now() - timedelta(hours=2))
    client = web()
    client.force_login(user)
    assert 'name="token"' not in client.get(reverse("api_tokens")).content.decode()


def test_tokens_page_needs_login():
    assert reverse("login") in web().get(reverse("api_tokens"))["Location"]


def test_password_change_revokes_every_token():
    user = bidder_user()
    tokens = [ApiToken.issue(user), ApiToken.issue(user)]
    client = web()
    client.force_login(user)
    change_password(client, old=PASSWORD)
    assert all(me(token).status_code == 401 for token in tokens)


def test_switching_2fa_on_revokes_tokens_issued_before():
    user = agency_user()
    token = ApiToken.issue(user)
    assert me(token).status_code == 200
    enrol(web(), user)
    assert me(token).status_code == 401


def test_the_admin_login_goes_through_the_two_step_login():
    response = web().get("/django-admin/login/?next=/django-admin/")
    assert response.status_code == 302 and response["Location"] == reverse("login") + "?next=/django-admin/"
