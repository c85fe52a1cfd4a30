"""Seed an opening for the multi-process tests and benchmarks; prints one JSON object.

Runs in its own process with the cluster's environment (DATABASE_URL, PLATFORM_VAR_DIR, ...):

    python tests/cluster_seed.py room --deadline-in 12 --decrypt-minutes 0.5 --objection-minutes 0.1
    python tests/cluster_seed.py quiet      # a published section far from its deadline (benchmarks)

``room`` builds a section published through the real services, 3 bidders with real sealed bids
uploaded through the API, and each bidder's K2. Set RULE_MIN_BIDDING_DAYS=0 for a deadline seconds away.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")


def _setup() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, seed users only
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    _fresh_sequences()


def _fresh_sequences() -> None:
    """factory_boy counts from 0 in every process: start past what earlier seeds created (unique codes)."""
    from tests import factories
    from trading.models import Section

    offset = 1000 * (Section.objects.count() + 1)
    for factory_class in (factories.OrganizationFactory, factories.UserFactory, factories.ProjectFactory,
                          factories.SectionFactory):
        factory_class.reset_sequence(offset)


def _tokens(section, supervisor) -> dict:
    from trading.models import ApiToken

    return {"host": ApiToken.issue(section.project.created_by), "supervisor": ApiToken.issue(supervisor)}


def seed_room(args) -> dict:
    from rest_framework.test import APIClient

    from tests.factories import publish_section, supervisor_user
    from tests.roomkit import prepare
    from trading.models import ApiToken

    config = {"signin_minutes": args.signin_minutes, "decrypt_minutes": args.decrypt_minutes,
              "objection_minutes": args.objection_minutes, "confirm_minutes": args.confirm_minutes}
    section = publish_section(deadline_days=args.deadline_in / 86400, opening_config=config)
    opening = prepare(APIClient(), args.bidders, section=section)
    return {
        "section": section.public_id, "section_pk": section.pk, "deadline": section.bid_deadline.timestamp(),
        "bids": opening.bids, "k2": [opening.k2(i) for i in range(args.bidders)],
        "bidders": [ApiToken.issue(kit.user) for kit in opening.kits],
        "bidder_names": [kit.user.organization.name for kit in opening.kits],
        "bidder_orgs": [kit.user.organization_id for kit in opening.kits],
        **_tokens(section, supervisor_user()),
    }


def seed_quiet(args) -> dict:
    from tests.factories import publish_section, supervisor_user

    section = publish_section(deadline_days=25)
    return {"section": section.public_id, "section_pk": section.pk, "deadline": section.bid_deadline.timestamp(),
            **_tokens(section, supervisor_user())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["room", "quiet"])
    parser.add_argument("--deadline-in", type=float, default=15.0, help="seconds from now")
    parser.add_argument("--bidders", type=int, default=3)
    parser.add_argument("--signin-minutes", type=float, default=30)
    parser.add_argument("--decrypt-minutes", type=float, default=0.5)
    parser.add_argument("--objection-minutes", type=float, default=0.1)
    parser.add_argument("--confirm-minutes", type=float, default=0, help="0: the record is sealed without co-signing")
    args = parser.parse_args()
    _setup()
    result = seed_room(args) if args.kind == "room" else seed_quiet(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
