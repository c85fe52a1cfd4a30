"""Seeds for tests/deploy/test_cluster_faults.py; runs in its own process with the cluster's environment, prints JSON.

    python tests/cluster_faults_seed.py surge --bidders 20 --out DIR --deadline-in 240 --doc-kib 400
        a published section, N registered bidders with keys and sealed envelopes written to DIR, NOT uploaded:
        the test uploads them itself (digest and signature precomputed, so the clients need only HTTP)
    python tests/cluster_faults_seed.py deposits --bidders 10
        a published section with a deposit and N bidders signed up through the real service (each gets its
        virtual sub-account); the test pays them through the bank simulator
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")


def seed_surge(args) -> dict:
    from rest_framework.test import APIClient

    from bidding.envelope import sign_digest
    from tests.bidflow import b64, kit_for, seal_bid
    from tests.factories import bidder_user, publish_section, register
    from trading.models import ApiToken

    api = APIClient()
    section = publish_section(deadline_days=args.deadline_in / 86400)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bidders = []
    for i in range(args.bidders):
        user = bidder_user()
        register(section, user)
        kit = kit_for(api, user)
        documents = (f"技术标 {i} ".encode() + os.urandom(args.doc_kib * 1024))
        envelope = seal_bid(api, kit, section, price=f"{9000000 + i * 1000}.00", documents=documents)
        path = out / f"bidder{i}.sbe"
        path.write_bytes(envelope)
        digest = hashlib.sha256(envelope).digest()
        bidders.append({"token": ApiToken.issue(user), "org": user.organization_id, "envelope": str(path),
                        "digest": digest.hex(), "signature": b64(sign_digest(digest, kit.sign))})
    return {"section": section.public_id, "section_pk": section.pk, "deadline": section.bid_deadline.timestamp(),
            "bidders": bidders}


def seed_deposits(args) -> dict:
    from tests.factories import bidder_user, publish_section
    from trading.deposits.models import DepositAccount
    from trading.models import ApiToken
    from trading.services.registrations import registration_create

    section = publish_section(deadline_days=args.deadline_in / 86400)
    accounts = []
    for _i in range(args.bidders):
        user = bidder_user()
        registration_create(user=user, section_id=section.pk)
        account = DepositAccount.objects.get(section=section, organization=user.organization)
        accounts.append({"virtual_account": account.virtual_account, "amount": str(section.deposit_amount),
                         "payer_account": account.organization.basic_account_number,
                         "payer_name": account.organization.name, "account_pk": account.pk})
    return {"section": section.public_id, "section_pk": section.pk,
            "host": ApiToken.issue(section.project.created_by), "accounts": accounts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["surge", "deposits"])
    parser.add_argument("--bidders", type=int, default=20)
    parser.add_argument("--deadline-in", type=float, default=240.0, help="seconds from now")
    parser.add_argument("--doc-kib", type=int, default=400)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    from tests.cluster_seed import _setup

    _setup()
    result = seed_surge(args) if args.kind == "surge" else seed_deposits(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
