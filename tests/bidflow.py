"""A bidder's whole journey through the fixed API, with the Python sealer: used by many tests."""

import base64
import hashlib
import io
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from bidding.envelope import load_public_key_b64, seal, sign_digest, spki_der
from trading.models import ApiToken


@dataclass
class BidderKit:
    user: object
    enc: ec.EllipticCurvePrivateKey
    sign: ec.EllipticCurvePrivateKey

    @property
    def auth(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(self.user)}"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kit_for(api, user) -> BidderKit:
    kit = BidderKit(user, ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1()))
    response = api.post("/api/v1/bidder-keys", {"enc_public_key": b64(spki_der(kit.enc.public_key())),
                                                "sign_public_key": b64(spki_der(kit.sign.public_key()))},
                        format="json", **kit.auth)
    assert response.status_code == 201, response.content
    return kit


def seal_bid(api, kit: BidderKit, section, *, price: str = "1234567.89", documents: bytes = b"bid documents",
             chunk_size: int = 65536, section_id: str | None = None, bidder: str | None = None) -> bytes:
    key = api.get(f"/api/v1/sections/{section.public_id}/opening-key", **kit.auth).json()
    out = io.BytesIO()
    seal(out=out, documents=io.BytesIO(documents), summary={"price": price, "currency": "CNY",
                                                             "duration_days": 180},
         section=section_id or section.public_id, bidder=bidder or kit.user.organization.credit_code,
         opening_public_key=load_public_key_b64(key["public_key"]),
         bidder_enc_public_key=kit.enc.public_key(), chunk_size=chunk_size)
    return out.getvalue()


def upload(api, kit: BidderKit, section, envelope: bytes, *, chunk_size: int = 65536, order=None,
           skip=()) -> str:
    created = api.post(f"/api/v1/sections/{section.public_id}/bids/uploads",
                       {"size": len(envelope), "chunk_size": chunk_size}, format="json", **kit.auth)
    assert created.status_code == 201, created.content
    upload_id, count = created.json()["upload_id"], created.json()["chunk_count"]
    for index in order if order is not None else range(count):
        if index in skip:
            continue
        put_chunk(api, kit, upload_id, index, envelope[index * chunk_size:(index + 1) * chunk_size])
    return upload_id


def put_chunk(api, kit, upload_id: str, index: int, data: bytes, sha: str | None = None):
    response = api.put(f"/api/v1/bids/uploads/{upload_id}/chunks/{index}", data=data,
                       content_type="application/octet-stream",
                       HTTP_X_CHUNK_SHA256=sha or hashlib.sha256(data).hexdigest(), **kit.auth)
    return response


def submit(api, kit: BidderKit, upload_id: str, envelope: bytes, *, signature: bytes | None = None):
    digest = hashlib.sha256(envelope).digest()
    return api.post(f"/api/v1/bids/uploads/{upload_id}/submit",
                    {"digest": digest.hex(), "signature": b64(signature or sign_digest(digest, kit.sign))},
                    format="json", **kit.auth)


def bid_through_api(api, kit: BidderKit, section, **seal_kwargs):
    envelope = seal_bid(api, kit, section, **seal_kwargs)
    upload_id = upload(api, kit, section, envelope)
    response = submit(api, kit, upload_id, envelope)
    assert response.status_code == 201, response.content
    return response.json(), envelope
