"""seed_demo (DESIGN.md §11): prints accounts, is harmless twice, and holds the promised sections."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from trading.models import Organization, Registration, Section, User

pytestmark = pytest.mark.django_db


def seed_json() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_prints_every_account_as_json_with_a_role():
    accounts = seed_json()["accounts"]
    roles = {a["role"] for a in accounts}
    assert roles == {"agency", "bidder", "expert", "supervisor", "admin"}
    assert sum(a["role"] == "bidder" for a in accounts) >= 8
    assert sum(a["role"] == "expert" for a in accounts) >= 30
    for account in accounts:
        user = User.objects.get(username=account["username"])
        assert user.check_password(account["password"]) and user.role == account["role"]


def test_seed_demo_twice_is_harmless():
    first = seed_json()
    counts = (User.objects.count(), Organization.objects.count(), Section.objects.count())
    assert seed_json() == first
    assert (User.objects.count(), Organization.objects.count(), Section.objects.count()) == counts


def test_seed_demo_has_a_published_section_a_week_away_with_demo_bidders_signed_up():
    seed_json()
    open_sections = Section.objects.filter(status="published", bid_deadline__gte=timezone.now() + timedelta(days=7))
    assert any(Registration.objects.filter(section=s, registered_by__username="bidder1").exists()
               for s in open_sections)


def test_seed_demo_has_sections_in_several_states_and_a_valid_ledger():
    from timestamps.ledger import ledger_verify

    seed_json()
    assert {"draft", "published", "failed"} <= set(Section.objects.values_list("status", flat=True))
    assert ledger_verify().ok


def test_seed_demo_prints_accounts_as_text():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "bidder1" in out.getvalue() and "Toubiao-2026!" in out.getvalue()
