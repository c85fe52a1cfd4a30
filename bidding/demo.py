"""The live demo opening's sealed bids, and the demo robot (演示机器人) that decrypts for bidder2-bidder4.

The bids go the command-line tool's way: ``bidding.sealer`` makes the keys and the passphrase-protected
backup, registers the public keys, seals, and the envelope is uploaded in chunks and submitted through the
same services the upload API calls, so that each bid has its receipt (回执). The robot runs only with
``settings.DEMO_ROBOT`` (set by ``deploy/dev.py run``); it reads the backups and calls the room services that
the WebSocket's sign-in and decrypt commands call. bidder1 is left to the person trying the demo.
"""

import base64
import hashlib
import io
import json
import logging
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from bidding import sealer
from bidding.envelope import read_header, unwrap_key
from bidding.keybackup import backup_read
from bidding.models import Bid, BidderKey, OpeningKey, OpeningRoom
from bidding.room import services as room
from bidding.room.decrypt import room_decrypt
from bidding.services import bids, keys, uploads
from trading.demo import LIVE_BIDDERS, LIVE_PROJECT
from trading.files import open_stored
from trading.models import Section, User
from trading.services.errors import DomainError

logger = logging.getLogger(__name__)
HUMAN_BIDDER = "bidder1"
UPLOAD_CHUNK = 1024 * 1024
PRICES = ["1736000.00", "1752800.00", "1698500.00", "1771200.00"]


def demo_bidders() -> list[User]:
    names = [f"bidder{n}" for n in range(1, LIVE_BIDDERS + 1)]
    users = {u.username: u for u in User.objects.select_related("organization").filter(username__in=names)}
    return [users[name] for name in names if name in users]


def robot_bidders() -> list[User]:
    return [u for u in demo_bidders() if u.username != HUMAN_BIDDER]


def backup_path(username: str) -> Path:
    return Path(settings.DEMO_KEYS_DIR) / f"{username}-key-backup.json"


def _key_dir(username: str) -> Path:
    return Path(settings.DEMO_KEYS_DIR) / username


def _envelope_path(username: str, section: Section) -> Path:
    return _key_dir(username) / f"bid-{section.public_id}.sbe1"


def _backup_enc_kid(path: Path) -> str | None:
    if not path.exists():
        return None
    entries = json.loads(path.read_bytes()).get("keys", [])
    return next((e.get("kid") for e in entries if e.get("use") == "enc"), None)


def demo_keys_ensure(user: User) -> None:
    """keygen --backup, then the public keys registered, unless the backup already holds the active keys."""
    path = backup_path(user.username)
    active = keys.bidder_key(organization=user.organization, use=BidderKey.Use.ENCRYPTION)
    if active is not None and _backup_enc_kid(path) == active.kid:
        return
    made = sealer.keys_generate(out_dir=_key_dir(user.username), force=True, backup=path,
                                organization=user.organization.credit_code,
                                passphrase=settings.DEMO_KEY_PASSPHRASE)
    keys.bidder_keys_register(user=user, enc_public_key=made["enc_public_key"],
                              sign_public_key=made["sign_public_key"])


def demo_bid_submit(*, user: User, section: Section, price: str) -> Bid:
    """seal, then upload and submit as ``python -m bidding.sealer upload`` does; the bid carries its receipt."""
    held = Bid.objects.filter(section=section, organization=user.organization,
                              status__in=[Bid.Status.SUBMITTED, Bid.Status.DECRYPTED]).first()
    if held is not None:
        return held
    folder = _key_dir(user.username)
    opening = OpeningKey.objects.get(section=section)
    opening_json = folder / f"opening-{section.public_id}.json"
    opening_json.write_text(json.dumps({"kid": opening.kid,
                                        "public_key": base64.b64encode(bytes(opening.public_key)).decode()}))
    documents = folder / "bid-documents.txt"
    documents.write_text(f"{user.organization.name} 投标文件（演示）\n投标报价：{price} 元\n", encoding="utf-8")
    out = _envelope_path(user.username, section)
    sealed = sealer.bid_seal(opening_key=str(opening_json), bidder_enc_key=str(folder / "enc-public.pem"),
                             bidder_sign_key=str(folder / "sign-private.pem"), section=section.public_id,
                             bidder=user.organization.credit_code, documents=str(documents), out=str(out),
                             summary={"price": price, "currency": "CNY", "duration_days": 60})
    data = out.read_bytes()
    upload = uploads.upload_create(user=user, section=section, size=len(data), chunk_size=UPLOAD_CHUNK)
    for index in range(upload.chunk_count):
        chunk = data[index * UPLOAD_CHUNK:(index + 1) * UPLOAD_CHUNK]
        uploads.upload_put_chunk(upload=upload, index=index, body=io.BytesIO(chunk),
                                 declared_sha256=hashlib.sha256(chunk).hexdigest())
    return bids.bid_submit(user=user, upload=upload, digest_hex=sealed["digest"], signature_b64=sealed["signature"],
                           user_agent="python -m bidding.sealer upload (demo)")


def seed_live_bids(*, live_section: Section) -> list[str]:
    """demo_seeded: keys and backups for bidder1-bidder4 and their sealed bids in the live section."""
    now = timezone.now()
    bidders = demo_bidders()
    for user in bidders:
        demo_keys_ensure(user)
    if live_section.accepts_bids(now):
        for user, price in zip(bidders, PRICES, strict=False):
            demo_bid_submit(user=user, section=live_section, price=price)
    lines = [
        f"Demo bidders {bidders[0].username}-{bidders[-1].username} have sealed and submitted their bids "
        f"(receipts issued). Their key backups are in {settings.DEMO_KEYS_DIR}; "
        f"backup passphrase: {settings.DEMO_KEY_PASSPHRASE}",
        f"As {HUMAN_BIDDER}, download the key backup in the opening room, import it there with the passphrase, "
        "and decrypt your bid.",
    ]
    if settings.DEMO_ROBOT:
        lines.append("The demo robot (演示机器人) signs in and decrypts for "
                     + ", ".join(u.username for u in bidders if u.username != HUMAN_BIDDER) + ".")
    return lines


def _k2(user: User, bid: Bid, enc_private) -> str:
    """unwrap-k2 on the bidder's own copy of the envelope, or on the stored one if that copy is gone."""
    local = _envelope_path(user.username, bid.section)
    if local.exists():
        return sealer.k2_unwrap(envelope_path=str(local), enc_private=enc_private)
    with open_stored(bid.storage_path) as handle:
        header = read_header(handle)
    return base64.b64encode(unwrap_key(header, 1, enc_private)).decode()


def robot_step(*, now: datetime | None = None) -> int:
    """演示机器人: sign bidder2-bidder4 in, then decrypt one of their bids per sweep. Off unless DEMO_ROBOT."""
    if not settings.DEMO_ROBOT:
        return 0
    now = now or timezone.now()
    done = 0
    rooms = OpeningRoom.objects.select_related("section").filter(
        section__project__code=LIVE_PROJECT, paused=False,
        phase__in=[OpeningRoom.Phase.SIGNIN, OpeningRoom.Phase.DECRYPTION])
    for live in rooms:
        section = live.section
        if now < room.signin_opens_at(section):
            continue
        robots = robot_bidders()
        for user in robots:
            if not live.sign_ins.filter(organization=user.organization_id).exists():
                try:
                    room.room_sign_in(user=user, section=section, now=now)
                    done += 1
                except DomainError as exc:
                    logger.info("demo robot: %s cannot sign in: %s", user.username, exc)
        if live.phase != OpeningRoom.Phase.DECRYPTION:
            continue
        pending = (Bid.objects.filter(section=section, status=Bid.Status.SUBMITTED, opening_no__isnull=False,
                                      organization__in=[u.organization_id for u in robots])
                   .select_related("section", "organization").order_by("opening_no").first())
        if pending is None:
            continue
        user = next(u for u in robots if u.organization_id == pending.organization_id)
        enc_private, _sign = backup_read(backup_path(user.username).read_bytes(), settings.DEMO_KEY_PASSPHRASE)
        try:
            room_decrypt(user=user, bid_id=pending.public_id, k2=_k2(user, pending, enc_private), now=now)
            done += 1
        except DomainError as exc:
            logger.warning("demo robot: %s could not decrypt: %s", user.username, exc)
    return done
