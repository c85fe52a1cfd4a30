"""SBE1 envelope: roundtrip, shared vectors, tampering, limits and constant memory."""

import base64
import hashlib
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bidding import envelope
from bidding.envelope import EnvelopeError
from bidding.keybackup import KeyBackupError, backup_read, backup_write

if not settings.configured:  # run without pytest-django: messages need minimal settings
    settings.configure(USE_I18N=False)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = sorted((ROOT / "tests/vectors/sbe1").glob("sbe1-*.json"))
CHUNK = 65536
SUMMARY = {"price": "1234567.89", "currency": "CNY", "duration_days": 180}


@pytest.fixture(autouse=True)
def _english_messages():
    """These tests read the English wording; the Chinese catalogue is checked in test_envelope_messages_in_chinese."""
    from django.utils import translation

    with translation.override("en"):
        yield


def test_envelope_messages_in_chinese():
    from django.utils import translation

    from bidding.envelope import EnvelopeError

    with translation.override("zh-hans"):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(EnvelopeError("bad_price").message))


@pytest.fixture(scope="module")
def keys():
    return {role: ec.generate_private_key(ec.SECP256R1()) for role in ("opening", "enc", "sign")}


def seal_bytes(keys, payload: bytes, **overrides) -> bytes:
    out = io.BytesIO()
    kwargs = dict(
        out=out,
        documents=io.BytesIO(payload),
        summary=dict(SUMMARY),
        section="S1",
        bidder="B1",
        opening_public_key=keys["opening"].public_key(),
        bidder_enc_public_key=keys["enc"].public_key(),
        chunk_size=CHUNK,
    )
    kwargs.update(overrides)
    envelope.seal(**kwargs)
    return out.getvalue()


def inspect_bytes(keys, data: bytes, **overrides):
    kwargs = dict(
        section="S1",
        bidder="B1",
        opening_kid=envelope.kid_of(keys["opening"].public_key()),
        max_size=1 << 30,
    )
    kwargs.update(overrides)
    return envelope.inspect(io.BytesIO(data), **kwargs)


def part_keys_of(keys, data: bytes) -> tuple[bytes, bytes]:
    header = envelope.read_header(io.BytesIO(data))
    return envelope.unwrap_key(header, 0, keys["opening"]), envelope.unwrap_key(
        header, 1, keys["enc"]
    )


def open_bytes(keys, data: bytes, k2: bytes | None = None) -> bytes:
    k1, real_k2 = part_keys_of(keys, data)
    out = io.BytesIO()
    envelope.open_documents(io.BytesIO(data), out, k1=k1, k2=k2 or real_k2)
    return out.getvalue()


def header_end(data: bytes) -> int:
    return 8 + struct.unpack(">I", data[4:8])[0]


def frame_offsets(data: bytes) -> list[tuple[int, int]]:
    """(start, length) of every frame body, the summary frame first."""
    offsets, pos = [], header_end(data)
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        offsets.append((pos + 4, length))
        pos += 4 + length
    return offsets


def with_header(data: bytes, header: dict) -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    return b"SBE1" + struct.pack(">I", len(raw)) + raw + data[header_end(data) :]


def flip_bit(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def raises(code: str, call, *args, **kwargs) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as info:
        call(*args, **kwargs)
    assert info.value.code == code
    assert info.value.message and code not in info.value.message  # a sentence, not a code
    return info.value


# --- roundtrip ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 200_000])
def test_roundtrip_restores_documents_and_summary(keys, size):
    documents = bytes(range(256)) * (size // 256) + bytes(size % 256)
    data = seal_bytes(keys, documents)
    inspection = inspect_bytes(keys, data)
    assert inspection.size == len(data)
    assert inspection.digest == hashlib.sha256(data).digest()
    assert inspection.frame_count == max(1, -(-size // CHUNK))
    k1, k2 = part_keys_of(keys, data)
    summary = envelope.open_summary(io.BytesIO(data), k1=k1, k2=k2)
    assert summary["price"] == "1234567.89"
    assert summary["documents"] == {
        "name": "documents",
        "size": size,
        "sha256": hashlib.sha256(documents).hexdigest(),
    }
    assert open_bytes(keys, data) == documents


@hypothesis_settings(max_examples=12, deadline=None)
@given(documents=st.binary(max_size=3 * CHUNK + 10), chunk=st.sampled_from([CHUNK, 2 * CHUNK]))
def test_roundtrip_for_any_documents(keys, documents, chunk):
    data = seal_bytes(keys, documents, chunk_size=chunk)
    assert inspect_bytes(keys, data).digest == hashlib.sha256(data).digest()
    assert open_bytes(keys, data) == documents


def test_seal_result_digest_matches_file_and_signature_verifies(keys):
    out = io.BytesIO()
    result = envelope.seal(
        out=out,
        documents=io.BytesIO(b"x" * 10),
        summary=dict(SUMMARY),
        section="S1",
        bidder="B1",
        opening_public_key=keys["opening"].public_key(),
        bidder_enc_public_key=keys["enc"].public_key(),
        documents_name="a.zip",
    )
    assert result.digest == hashlib.sha256(out.getvalue()).digest()
    assert result.size == len(out.getvalue())
    assert result.header["chunk_size"] == 1 << 20
    signature = envelope.sign_digest(result.digest, keys["sign"])
    envelope.verify_signature(
        digest=result.digest, signature_der=signature, sign_public_key=keys["sign"].public_key()
    )


def test_seal_of_unseekable_input_needs_documents_in_summary(keys):
    class Pipe(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            return 0

    raises("bad_summary", seal_bytes, keys, b"", documents=Pipe())
    summary = {
        **SUMMARY,
        "documents": {"name": "a", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()},
    }
    assert open_bytes(keys, seal_bytes(keys, b"", documents=Pipe(), summary=summary)) == b""


def test_seal_with_wrong_documents_hash_in_summary_fails(keys):
    summary = {**SUMMARY, "documents": {"name": "a", "size": 3, "sha256": "0" * 64}}
    raises("documents_mismatch", seal_bytes, keys, b"abc", summary=summary)


def test_key_ids_and_public_key_loading(keys):
    public = keys["opening"].public_key()
    der = envelope.spki_der(public)
    assert envelope.kid_of(public) == hashlib.sha256(der).hexdigest()
    assert envelope.kid_of(
        envelope.load_public_key_b64(base64.b64encode(der).decode())
    ) == envelope.kid_of(public)
    raises("bad_key", envelope.load_public_key_b64, "not base64!")
    raises("bad_key", envelope.load_public_key_b64, base64.b64encode(b"\x30\x00").decode())
    assert envelope.b64url_decode(envelope.b64url_encode(b"\xff\xfe")) == b"\xff\xfe"
    with pytest.raises(ValueError):
        envelope.b64url_decode("__8=")  # padding is not allowed


# --- shared vectors -------------------------------------------------------------------------


def load_private(b64: str):
    return serialization.load_der_private_key(base64.b64decode(b64), password=None)


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_reproduces_byte_exact(path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    draws = [bytes.fromhex(value) for value in vector["rng_hex"]]
    out = io.BytesIO()
    result = envelope.seal(
        out=out,
        documents=io.BytesIO(base64.b64decode(vector["documents_b64"])),
        summary=vector["summary"],
        section=vector["section"],
        bidder=vector["bidder"],
        opening_public_key=load_private(vector["opening_private_key_pkcs8_b64"]).public_key(),
        bidder_enc_public_key=load_private(vector["bidder_enc_private_key_pkcs8_b64"]).public_key(),
        chunk_size=vector["chunk_size"],
        rng=lambda n: draws.pop(0),
    )
    assert out.getvalue() == base64.b64decode(vector["envelope_b64"])
    assert result.digest.hex() == vector["digest_hex"]
    assert envelope._dump_json(result.header).decode() == vector["header_json"]


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_opens_and_its_signature_verifies(path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    data = base64.b64decode(vector["envelope_b64"])
    inspection = envelope.inspect(
        io.BytesIO(data),
        section=vector["section"],
        bidder=vector["bidder"],
        opening_kid=vector["opening_kid"],
        max_size=len(data),
        bidder_kid=vector["bidder_kid"],
    )
    assert inspection.digest.hex() == vector["digest_hex"]
    assert inspection.frame_count == vector["frame_count"]
    sign_key = load_private(vector["bidder_sign_private_key_pkcs8_b64"])
    envelope.verify_signature(
        digest=inspection.digest,
        signature_der=base64.b64decode(vector["signature_b64"]),
        sign_public_key=sign_key.public_key(),
    )
    k1 = envelope.unwrap_key(
        inspection.header, 0, load_private(vector["opening_private_key_pkcs8_b64"])
    )
    k2 = envelope.unwrap_key(
        inspection.header, 1, load_private(vector["bidder_enc_private_key_pkcs8_b64"])
    )
    assert base64.b64encode(k1).decode() == vector["k1_b64"]
    assert base64.b64encode(k2).decode() == vector["k2_b64"]
    assert [key.hex() for key in envelope.part_keys(k1, k2)] == [
        vector["dek_summary_hex"],
        vector["dek_documents_hex"],
    ]
    out = io.BytesIO()
    summary = envelope.open_documents(io.BytesIO(data), out, k1=k1, k2=k2)
    assert summary == vector["summary"]
    assert out.getvalue() == base64.b64decode(vector["documents_b64"])


def test_vectors_cover_tiny_two_full_frames_and_short_last_frame():
    sizes = {json.loads(p.read_text())["summary"]["documents"]["size"] for p in VECTORS}
    assert sizes == {1, 2 * CHUNK, 200_000}


def test_backup_vector_reads_with_its_passphrase():
    vector = json.loads((ROOT / "tests/vectors/sbe1/key-backup.json").read_text(encoding="utf-8"))
    enc, sign = backup_read(vector["file"].encode(), vector["passphrase"])
    assert envelope.kid_of(enc.public_key()) == envelope.kid_of(
        load_private(vector["enc_private_key_pkcs8_b64"]).public_key()
    )
    assert envelope.kid_of(sign.public_key()) == envelope.kid_of(
        load_private(vector["sign_private_key_pkcs8_b64"]).public_key()
    )


# --- key backup -----------------------------------------------------------------------------


def test_backup_roundtrip_and_wrong_passphrase_is_a_clear_error(keys):
    data = backup_write(
        enc_private=keys["enc"],
        sign_private=keys["sign"],
        organization="91350100M000100Y43",
        passphrase="秘密 passphrase",
    )
    backup = json.loads(data)
    assert backup["kdf"]["iterations"] == 600000
    assert [k["use"] for k in backup["keys"]] == ["enc", "sign"]
    enc, sign = backup_read(data, "秘密 passphrase")
    assert envelope.kid_of(enc.public_key()) == envelope.kid_of(keys["enc"].public_key())
    assert envelope.kid_of(sign.public_key()) == envelope.kid_of(keys["sign"].public_key())
    with pytest.raises(KeyBackupError) as info:
        backup_read(data, "wrong")
    assert info.value.code == "wrong_passphrase"
    assert "passphrase is wrong" in info.value.message


def test_backup_with_fewer_than_600000_iterations_is_refused(keys):
    with pytest.raises(KeyBackupError) as info:
        backup_write(
            enc_private=keys["enc"],
            sign_private=keys["sign"],
            organization="X",
            passphrase="p",
            iterations=599_999,
        )
    assert info.value.code == "weak_kdf"
    vector = json.loads((ROOT / "tests/vectors/sbe1/key-backup.json").read_text(encoding="utf-8"))
    weak = json.loads(vector["file"])
    weak["kdf"]["iterations"] = 1000
    with pytest.raises(KeyBackupError) as info:
        backup_read(json.dumps(weak).encode(), vector["passphrase"])
    assert info.value.code == "weak_kdf"


def test_backup_that_is_not_json_is_a_clear_error():
    with pytest.raises(KeyBackupError) as info:
        backup_read(b"-----BEGIN PRIVATE KEY-----", "p")
    assert info.value.code == "bad_backup"


# --- tampering ------------------------------------------------------------------------------


def test_flipped_bit_in_header_value_is_caught_by_inspect_and_by_opening(keys):
    data = seal_bytes(keys, b"documents")
    tampered = flip_bit(data, data.index(b'"bidder":"B1"') + len('"bidder":"'))
    raises("bidder_mismatch", inspect_bytes, keys, tampered)
    k1, k2 = part_keys_of(keys, data)
    raises("bad_k2", envelope.open_summary, io.BytesIO(tampered), k1=k1, k2=k2)


def test_flipped_bit_in_header_syntax_is_a_bad_header(keys):
    data = seal_bytes(keys, b"documents")
    err = raises("bad_header", inspect_bytes, keys, flip_bit(data, 8))  # the opening "{"
    assert "JSON" in err.message


def test_flipped_bit_in_documents_frame_body_fails_signature_and_authentication(keys):
    data = seal_bytes(keys, bytes(200_000))
    digest = hashlib.sha256(data).digest()
    signature = envelope.sign_digest(digest, keys["sign"])
    start, _length = frame_offsets(data)[2]
    tampered = flip_bit(data, start + 100)
    inspection = inspect_bytes(keys, tampered)  # structure is intact: only keys can tell
    raises(
        "bad_signature",
        envelope.verify_signature,
        digest=inspection.digest,
        signature_der=signature,
        sign_public_key=keys["sign"].public_key(),
    )
    raises("auth_failed", open_bytes, keys, tampered)


def test_flipped_bit_in_final_tag_fails_authentication(keys):
    data = seal_bytes(keys, bytes(200_000))
    raises("auth_failed", open_bytes, keys, flip_bit(data, len(data) - 1))


def test_flipped_bit_in_summary_frame_fails_as_bad_k2(keys):
    data = seal_bytes(keys, b"documents")
    start, _length = frame_offsets(data)[0]
    k1, k2 = part_keys_of(keys, data)
    raises("bad_k2", envelope.open_summary, io.BytesIO(flip_bit(data, start)), k1=k1, k2=k2)


@pytest.mark.parametrize("cut", [1, 17, 5000])
def test_truncated_file_is_reported_as_truncated(keys, cut):
    data = seal_bytes(keys, bytes(200_000))[:-cut]
    raises("truncated", inspect_bytes, keys, data)
    raises("truncated", open_bytes, keys, data)


def test_file_cut_after_summary_has_no_documents_and_is_truncated(keys):
    data = seal_bytes(keys, b"abc")
    start, length = frame_offsets(data)[0]
    raises("truncated", inspect_bytes, keys, data[: start + length])


def test_missing_last_frame_passes_structure_but_fails_opening(keys):
    data = seal_bytes(keys, bytes(200_000))
    start, _length = frame_offsets(data)[-1]
    without_last = data[: start - 4]
    assert inspect_bytes(keys, without_last).frame_count == 3
    err = raises("missing_last_frame", open_bytes, keys, without_last)
    assert "final" in err.message


def test_short_frame_before_the_end_is_bad_framing(keys):
    data = seal_bytes(keys, bytes(CHUNK + 10))
    start, length = frame_offsets(data)[-1]
    extra = struct.pack(">I", 16) + bytes(16)
    raises("bad_framing", inspect_bytes, keys, data + extra)


def test_frame_longer_than_chunk_is_bad_framing(keys):
    data = seal_bytes(keys, b"abc")
    start, _length = frame_offsets(data)[1]
    too_long = data[: start - 4] + struct.pack(">I", CHUNK + 17) + bytes(CHUNK + 17)
    raises("bad_framing", inspect_bytes, keys, too_long)


def test_not_an_envelope_is_bad_magic(keys):
    raises("bad_magic", inspect_bytes, keys, b"PK\x03\x04 a zip file")
    raises("bad_magic", inspect_bytes, keys, b"")


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("section", "S2", "section_mismatch"),
        ("bidder", "B2", "bidder_mismatch"),
        ("opening_kid", "0" * 64, "opening_kid_mismatch"),
        ("bidder_kid", "0" * 64, "bidder_kid_mismatch"),
    ],
)
def test_envelope_for_another_section_bidder_or_key_is_refused(keys, field, value, code):
    data = seal_bytes(keys, b"abc")
    raises(code, inspect_bytes, keys, data, **{field: value})


def test_wrong_signature_key_is_bad_signature(keys):
    digest = hashlib.sha256(seal_bytes(keys, b"abc")).digest()
    other = ec.generate_private_key(ec.SECP256R1())
    raises(
        "bad_signature",
        envelope.verify_signature,
        digest=digest,
        signature_der=envelope.sign_digest(digest, other),
        sign_public_key=keys["sign"].public_key(),
    )
    raises(
        "bad_signature",
        envelope.verify_signature,
        digest=digest,
        signature_der=b"junk",
        sign_public_key=keys["sign"].public_key(),
    )


def test_wrong_k2_is_refused_by_summary_check(keys):
    data = seal_bytes(keys, b"abc")
    k1, _k2 = part_keys_of(keys, data)
    err = raises("bad_k2", envelope.open_summary, io.BytesIO(data), k1=k1, k2=bytes(32))
    assert "K2" in err.message
    raises("bad_k2", open_bytes, keys, data, k2=b"\x01" * 32)


def test_unwrapping_with_another_private_key_is_wrong_key(keys):
    header = envelope.read_header(io.BytesIO(seal_bytes(keys, b"abc")))
    raises("wrong_key", envelope.unwrap_key, header, 1, keys["opening"])


@pytest.mark.parametrize("chunk_size", [65535, 4194305, True, "65536"])
def test_chunk_size_out_of_range_is_refused(keys, chunk_size):
    data = seal_bytes(keys, b"abc")
    header = envelope.read_header(io.BytesIO(data))
    err = raises(
        "bad_header", inspect_bytes, keys, with_header(data, {**header, "chunk_size": chunk_size})
    )
    assert "65536" in err.message
    if isinstance(chunk_size, int) and not isinstance(chunk_size, bool):
        raises("bad_header", seal_bytes, keys, b"abc", chunk_size=chunk_size)


def test_header_schema_rejects_unknown_missing_and_malformed_fields(keys):
    data = seal_bytes(keys, b"abc")
    header = envelope.read_header(io.BytesIO(data))
    missing = {k: v for k, v in header.items() if k != "suite"}
    assert "suite" in raises("bad_header", inspect_bytes, keys, with_header(data, missing)).message
    raises("bad_header", inspect_bytes, keys, with_header(data, {**header, "extra": 1}))
    raises("bad_header", inspect_bytes, keys, with_header(data, {**header, "v": 2}))
    one = {**header, "recipients": header["recipients"][:1]}
    raises("bad_header", inspect_bytes, keys, with_header(data, one))
    swapped = {**header, "recipients": header["recipients"][::-1]}
    raises("bad_header", inspect_bytes, keys, with_header(data, swapped))
    short_iv = [dict(r) for r in header["recipients"]]
    short_iv[0]["iv"] = short_iv[0]["iv"][:-2]
    raises("bad_header", inspect_bytes, keys, with_header(data, {**header, "recipients": short_iv}))


def test_envelope_over_the_size_limit_is_too_large(keys):
    data = seal_bytes(keys, bytes(200_000))
    raises("too_large", inspect_bytes, keys, data, max_size=len(data) - 1)
    assert inspect_bytes(keys, data, max_size=len(data)).size == len(data)


def test_summary_over_64_kib_is_refused(keys):
    raises("summary_too_large", seal_bytes, keys, b"abc", summary={**SUMMARY, "note": "x" * 65536})


@pytest.mark.parametrize("price", ["1.234", "1,00", "-1.00", "1e5", "", "01.00", 12.5])
def test_price_that_is_not_a_two_decimal_string_is_refused(keys, price):
    err = raises("bad_price", seal_bytes, keys, b"abc", summary={**SUMMARY, "price": price})
    assert "2 decimals" in err.message


def test_price_with_up_to_two_decimals_is_accepted(keys):
    for price in ["0", "12", "12.5", "1234567.89"]:
        seal_bytes(keys, b"", summary={**SUMMARY, "price": price})


# --- constant memory ------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import hashlib, io, tempfile
from cryptography.hazmat.primitives.asymmetric import ec
from bidding import envelope

SIZE = 200 * 1024 * 1024 + 12345

class Generated(io.RawIOBase):
    # Documents made on the fly: a repeating random block with a counter, never held whole.
    def __init__(self):
        self.pos = 0
        self.block = bytearray(hashlib.sha256(b"seed").digest() * 2048)
    def readable(self): return True
    def seekable(self): return True
    def tell(self): return self.pos
    def seek(self, pos, whence=0):
        self.pos = pos
        return pos
    def readinto(self, b):
        n = min(len(b), SIZE - self.pos, len(self.block))
        self.block[:8] = self.pos.to_bytes(8, "big")
        b[:n] = self.block[:n]
        self.pos += n
        return n

class Sink:
    def __init__(self): self.hash, self.size = hashlib.sha256(), 0
    def write(self, data):
        self.hash.update(data); self.size += len(data)

def peak_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset the peak, so import-time peaks do not hide ours
base = peak_kib()
with tempfile.TemporaryFile() as f:
    result = envelope.seal(out=f, documents=Generated(), summary={"price": "1.00", "currency": "CNY"},
                           section="S", bidder="B", opening_public_key=keys[0].public_key(),
                           bidder_enc_public_key=keys[1].public_key())
    f.seek(0)
    inspection = envelope.inspect(f, section="S", bidder="B",
                                  opening_kid=envelope.kid_of(keys[0].public_key()), max_size=1 << 40)
    assert inspection.digest == result.digest
    f.seek(0)
    k1 = envelope.unwrap_key(inspection.header, 0, keys[0])
    k2 = envelope.unwrap_key(inspection.header, 1, keys[1])
    sink = Sink()
    envelope.open_documents(f, sink, k1=k1, k2=k2)
    assert sink.size == SIZE
print((peak_kib() - base) * 1024)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_sealing_inspecting_and_opening_200_mib_uses_constant_memory():
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    growth = int(done.stdout.strip())
    assert growth < 40 * 1024 * 1024, f"peak RSS grew by {growth / 2**20:.1f} MiB"
