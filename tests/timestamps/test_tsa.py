"""RFC 3161 timestamp authority (时间戳服务), checked against the real openssl binary."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from asn1crypto import algos, cms, core, tsp
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import given
from hypothesis import strategies as st

from timestamps import tsa
from timestamps.pki import (
    CA_FILE,
    CERT_FILE,
    KEY_FILE,
    TsaKeyError,
    certs_pem,
    clear_tsa_cache,
    ensure_tsa_keys,
    load_tsa,
)
from timestamps.tsa import (
    POLICY_OID,
    TimestampError,
    respond,
    timestamp_digest,
    token_info,
    token_to_response,
    verify_token,
)

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


@pytest.fixture(scope="module")
def tsa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tsa")
    ensure_tsa_keys(directory)
    return directory


@pytest.fixture
def work(tmp_path: Path, tsa_dir: Path) -> Path:
    """A scratch directory holding certs.pem, tsa.pem, a bid file and another file."""
    (tmp_path / "certs.pem").write_bytes(certs_pem(tsa_dir))
    shutil.copy(tsa_dir / CERT_FILE, tmp_path / "tsa.pem")
    shutil.copy(tsa_dir / CA_FILE, tmp_path / "ca.pem")
    (tmp_path / "bid.sbe").write_bytes(b"SBE1 sealed bid envelope bytes " * 100)
    (tmp_path / "other.bin").write_bytes(b"a different file")
    return tmp_path


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )


def make_query(work: Path, *extra: str, data: str = "bid.sbe") -> bytes:
    result = openssl("ts", "-query", "-data", data, *extra, "-out", "q.tsq", cwd=work)
    assert result.returncode == 0, result.stderr
    return (work / "q.tsq").read_bytes()


def answer(work: Path, tsa_dir: Path, query: bytes, name: str = "r.tsr") -> tsa.TsaReply:
    reply = respond(query, directory=tsa_dir)
    (work / name).write_bytes(reply.der)
    return reply


def verified(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and "Verification: OK" in result.stdout


def reply_text(work: Path, name: str = "r.tsr") -> str:
    result = openssl("ts", "-reply", "-in", name, "-text", cwd=work)
    assert result.returncode == 0, result.stderr
    return result.stdout


def build_query(
    digest: bytes, *, hash_name: str = "sha256", policy: str | None = None, **fields: object
) -> bytes:
    values: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": hash_name}, "hashed_message": digest},
        "cert_req": True,
        **fields,
    }
    if policy:
        values["req_policy"] = policy
    return tsp.TimeStampReq(values).dump()


def status_of(der: bytes) -> tuple[str, set[str]]:
    status = tsa.TimeStampResp.load(der)["status"]
    return status["status"].native, set(status["fail_info"].native or ())


# -- openssl interoperability -------------------------------------------------------------------


def test_openssl_query_gets_response_that_openssl_verifies(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, make_query(work, "-sha256", "-cert"))

    assert reply.granted
    result = openssl(
        "ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "certs.pem", cwd=work
    )
    assert verified(result), result.stdout + result.stderr


def test_response_verifies_against_the_data_and_not_against_other_data(
    work: Path, tsa_dir: Path
) -> None:
    answer(work, tsa_dir, make_query(work, "-sha256", "-cert"))

    good = openssl(
        "ts", "-verify", "-data", "bid.sbe", "-in", "r.tsr", "-CAfile", "certs.pem", cwd=work
    )
    bad = openssl(
        "ts", "-verify", "-data", "other.bin", "-in", "r.tsr", "-CAfile", "certs.pem", cwd=work
    )

    assert verified(good), good.stdout + good.stderr
    assert not verified(bad)
    assert "message imprint mismatch" in bad.stderr


def test_response_does_not_verify_against_an_unrelated_ca(
    work: Path, tsa_dir: Path, tmp_path_factory
) -> None:
    stranger = tmp_path_factory.mktemp("stranger")
    ensure_tsa_keys(stranger)
    shutil.copy(stranger / CA_FILE, work / "stranger-ca.pem")
    answer(work, tsa_dir, make_query(work, "-sha256", "-cert"))

    result = openssl(
        "ts",
        "-verify",
        "-in",
        "r.tsr",
        "-queryfile",
        "q.tsq",
        "-CAfile",
        "stranger-ca.pem",
        cwd=work,
    )

    assert not verified(result)


def test_in_process_token_verifies_with_openssl_token_in(work: Path, tsa_dir: Path) -> None:
    digest = hashlib.sha256((work / "bid.sbe").read_bytes()).digest()
    (work / "token.tsr").write_bytes(timestamp_digest(digest, directory=tsa_dir))

    result = openssl(
        "ts",
        "-verify",
        "-data",
        "bid.sbe",
        "-in",
        "token.tsr",
        "-token_in",
        "-CAfile",
        "certs.pem",
        cwd=work,
    )

    assert verified(result), result.stdout + result.stderr


def test_token_wrapped_as_response_verifies_without_token_in(work: Path, tsa_dir: Path) -> None:
    digest = hashlib.sha256((work / "bid.sbe").read_bytes()).digest()
    receipt = token_to_response(timestamp_digest(digest, directory=tsa_dir))
    (work / "receipt.tsr").write_bytes(receipt)

    good = openssl(
        "ts", "-verify", "-data", "bid.sbe", "-in", "receipt.tsr", "-CAfile", "certs.pem", cwd=work
    )
    bad = openssl(
        "ts",
        "-verify",
        "-data",
        "other.bin",
        "-in",
        "receipt.tsr",
        "-CAfile",
        "certs.pem",
        cwd=work,
    )

    assert verified(good), good.stdout + good.stderr
    assert not verified(bad)
    assert status_of(receipt) == ("granted", set())


def test_nonce_from_the_request_is_echoed(work: Path, tsa_dir: Path) -> None:
    query = make_query(work, "-sha256", "-cert")
    nonce = tsp.TimeStampReq.load(query)["nonce"].native
    reply = answer(work, tsa_dir, query)

    assert nonce is not None
    assert token_info(reply.der)["nonce"] == nonce
    printed = re.search(r"^Nonce: 0x([0-9A-F]+)$", reply_text(work), re.MULTILINE)
    assert printed and int(printed.group(1), 16) == nonce


def test_query_without_nonce_gets_token_without_nonce(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, make_query(work, "-sha256", "-cert", "-no_nonce"))

    result = openssl(
        "ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "certs.pem", cwd=work
    )
    assert verified(result), result.stdout + result.stderr
    assert token_info(reply.der)["nonce"] is None
    assert "Nonce: unspecified" in reply_text(work)


def test_cert_req_false_leaves_out_the_certificate(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, make_query(work, "-sha256"))  # no -cert: certReq false

    token = tsa.TimeStampResp.load(reply.der)["time_stamp_token"]
    assert not token["content"]["certificates"].native
    without_cert = openssl(
        "ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "ca.pem", cwd=work
    )
    with_untrusted = openssl(
        "ts",
        "-verify",
        "-in",
        "r.tsr",
        "-queryfile",
        "q.tsq",
        "-CAfile",
        "ca.pem",
        "-untrusted",
        "tsa.pem",
        cwd=work,
    )
    assert not verified(without_cert)
    assert verified(with_untrusted), with_untrusted.stdout + with_untrusted.stderr


def test_cert_req_true_includes_exactly_the_tsa_certificate(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, make_query(work, "-sha256", "-cert"))

    certs = tsa.TimeStampResp.load(reply.der)["time_stamp_token"]["content"]["certificates"]
    assert [c.chosen.dump() for c in certs] == [load_tsa(tsa_dir).cert_der]


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_other_imprint_algorithms_verify(work: Path, tsa_dir: Path, algorithm: str) -> None:
    reply = answer(work, tsa_dir, make_query(work, f"-{algorithm}", "-cert"))

    result = openssl(
        "ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "certs.pem", cwd=work
    )
    assert verified(result), result.stdout + result.stderr
    assert token_info(reply.der)["hash_name"] == algorithm


def test_openssl_sha1_query_is_rejected_as_bad_alg(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, make_query(work, "-sha1", "-cert"))

    assert not reply.granted
    assert reply.failure == "bad_alg"
    assert status_of(reply.der) == ("rejection", {"bad_alg"})
    text = reply_text(work)
    assert "Status: Rejected." in text
    assert "unrecognized or unsupported algorithm identifier" in text
    assert "SHA-1 is not accepted" in text
    assert "TST info:\nNot included." in text


def test_our_own_policy_may_be_requested(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, make_query(work, "-sha256", "-cert", "-tspolicy", POLICY_OID))

    result = openssl(
        "ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "certs.pem", cwd=work
    )
    assert reply.granted
    assert verified(result), result.stdout + result.stderr


def test_other_policy_is_rejected_as_unaccepted(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, make_query(work, "-sha256", "-tspolicy", "1.2.3.4"))

    assert not reply.granted
    assert status_of(reply.der) == ("rejection", {"unaccepted_policy"})
    assert "policy is not supported" in reply_text(work)


def test_garbage_is_rejected_as_bad_data_format(work: Path, tsa_dir: Path) -> None:
    reply = answer(work, tsa_dir, b"\x30\x03garbage that is not DER")

    assert not reply.granted
    assert reply.failure == "bad_data_format"
    assert status_of(reply.der) == ("rejection", {"bad_data_format"})
    text = reply_text(work)
    assert "Status: Rejected." in text
    assert "the data submitted has the wrong format" in text
    assert "TST info:\nNot included." in text


@pytest.mark.parametrize(
    "query",
    [
        b"",
        b"\x00",
        build_query(b"\x01" * 32) + b"\x00",  # trailing bytes after a valid query
        build_query(b"\x01" * 32)[:-3],  # truncated
        cms.ContentInfo({"content_type": "data", "content": b"x"}).dump(),  # wrong structure
    ],
    ids=["empty", "one-byte", "trailing", "truncated", "wrong-structure"],
)
def test_malformed_queries_are_rejected_never_raised(tsa_dir: Path, query: bytes) -> None:
    reply = respond(query, directory=tsa_dir)

    assert status_of(reply.der) == ("rejection", {"bad_data_format"})


def test_wrong_imprint_length_is_rejected_as_bad_alg(tsa_dir: Path) -> None:
    reply = respond(build_query(b"\x01" * 20, hash_name="sha256"), directory=tsa_dir)

    assert status_of(reply.der) == ("rejection", {"bad_alg"})


def test_unsupported_hash_algorithm_is_rejected_as_bad_alg(tsa_dir: Path) -> None:
    reply = respond(build_query(b"\x01" * 16, hash_name="md5"), directory=tsa_dir)

    assert status_of(reply.der) == ("rejection", {"bad_alg"})


def test_request_extensions_are_rejected(tsa_dir: Path) -> None:
    extension = {"extn_id": "1.2.3.4", "critical": False, "extn_value": b"\x05\x00"}
    reply = respond(build_query(b"\x01" * 32, extensions=[extension]), directory=tsa_dir)

    assert status_of(reply.der) == ("rejection", {"unaccepted_extensions"})


# -- token content ------------------------------------------------------------------------------


def test_token_info_reports_time_serial_imprint_and_policy(tsa_dir: Path) -> None:
    digest = hashlib.sha256(b"bid").digest()
    now = dt.datetime(2026, 3, 1, 8, 30, 15, 123400, tzinfo=dt.UTC)

    info = token_info(timestamp_digest(digest, directory=tsa_dir, now=now, nonce=7))

    assert info["gen_time"] == now
    assert info["gen_time"].tzinfo is not None
    assert info["hash_name"] == "sha256"
    assert info["digest"] == digest
    assert info["policy"] == POLICY_OID
    assert info["nonce"] == 7
    assert 0 < info["serial"] < 2**128


def test_gen_time_without_microseconds_has_no_fraction(tsa_dir: Path) -> None:
    now = dt.datetime(2026, 3, 1, 8, 30, 15, tzinfo=dt.UTC)

    token = timestamp_digest(b"\x00" * 32, directory=tsa_dir, now=now)

    assert b"20260301083015Z" in token
    assert token_info(token)["gen_time"] == now


def test_gen_time_is_utc_even_for_a_local_now(tsa_dir: Path) -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    now = dt.datetime(2026, 3, 1, 16, 30, 15, 500000, tzinfo=shanghai)

    token = timestamp_digest(b"\x00" * 32, directory=tsa_dir, now=now)

    assert b"20260301083015.5Z" in token
    assert token_info(token)["gen_time"] == now


def test_naive_now_is_refused(tsa_dir: Path) -> None:
    with pytest.raises(TimestampError, match="timezone-aware"):
        timestamp_digest(b"\x00" * 32, directory=tsa_dir, now=dt.datetime(2026, 3, 1, 8, 30))


def test_token_has_the_ess_and_content_attributes_openssl_needs(tsa_dir: Path) -> None:
    token = cms.ContentInfo.load(timestamp_digest(b"\x02" * 32, directory=tsa_dir))
    signer = token["content"]["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}

    assert set(attrs) == {"content_type", "message_digest", "signing_certificate_v2"}
    assert attrs["content_type"].native == "tst_info"
    ess = attrs["signing_certificate_v2"]["certs"][0]
    cert = load_tsa(tsa_dir).cert
    assert ess["cert_hash"].native == hashlib.sha256(load_tsa(tsa_dir).cert_der).digest()
    assert ess["issuer_serial"]["serial_number"].native == cert.serial_number


@pytest.mark.parametrize("cert_req", [True, False])
@pytest.mark.parametrize("nonce", [None, 0, 127, 128, 2**64 - 1, 2**200, -1, -129])
def test_hand_built_der_is_canonical(tsa_dir: Path, cert_req: bool, nonce: int | None) -> None:
    token = timestamp_digest(b"\x03" * 32, directory=tsa_dir, nonce=nonce, cert_req=cert_req)

    assert cms.ContentInfo.load(token, strict=True).dump(force=True) == token
    assert token_info(token)["nonce"] == nonce
    assert tsa.TimeStampResp.load(token_to_response(token)).dump(force=True) == token_to_response(
        token
    )


@given(st.integers(min_value=-(2**300), max_value=2**300))
def test_integer_encoding_matches_asn1crypto(value: int) -> None:
    assert tsa._integer(value) == core.Integer(value).dump()


@given(st.binary(max_size=70000))
def test_length_encoding_matches_asn1crypto(content: bytes) -> None:
    assert tsa._tlv(0x04, content) == core.OctetString(content).dump()


def test_imprint_algorithm_identifiers_match_asn1crypto() -> None:
    for name in tsa.DIGEST_SIZES:
        assert tsa._IMPRINT_ALG_DER[name] == algos.DigestAlgorithm({"algorithm": name}).dump()


def test_serial_numbers_are_unique_across_threads(tsa_dir: Path) -> None:
    serials: list[int] = []
    lock = threading.Lock()
    digest = hashlib.sha256(b"x").digest()

    def issue() -> None:
        tokens = [timestamp_digest(digest, directory=tsa_dir) for _ in range(200)]
        for token in tokens:
            verify_token(token, digest, directory=tsa_dir)
        with lock:
            serials.extend(token_info(t)["serial"] for t in tokens)

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(serials) == 1600
    assert len(set(serials)) == 1600


def test_timestamp_digest_refuses_a_digest_of_the_wrong_length(tsa_dir: Path) -> None:
    with pytest.raises(TimestampError, match="32 bytes"):
        timestamp_digest(b"\x00" * 20, directory=tsa_dir)
    with pytest.raises(TimestampError, match="unsupported"):
        timestamp_digest(b"\x00" * 16, hash_name="md5", directory=tsa_dir)


# -- verify_token -------------------------------------------------------------------------------


def test_verify_token_accepts_our_token_and_our_response(tsa_dir: Path) -> None:
    digest = hashlib.sha512(b"ledger head").digest()
    token = timestamp_digest(digest, hash_name="sha512", directory=tsa_dir)

    info = verify_token(token, digest, directory=tsa_dir)
    assert info.digest == digest
    assert info.hash_name == "sha512"
    assert verify_token(token_to_response(token), digest, directory=tsa_dir) == info


def test_verify_token_accepts_a_token_without_the_certificate(tsa_dir: Path) -> None:
    digest = hashlib.sha256(b"x").digest()

    verify_token(
        timestamp_digest(digest, cert_req=False, directory=tsa_dir), digest, directory=tsa_dir
    )


def test_verify_token_rejects_another_digest(tsa_dir: Path) -> None:
    token = timestamp_digest(hashlib.sha256(b"bid").digest(), directory=tsa_dir)

    with pytest.raises(TimestampError, match="does not stamp"):
        verify_token(token, hashlib.sha256(b"other bid").digest(), directory=tsa_dir)


def test_verify_token_detects_a_tampered_gen_time(tsa_dir: Path) -> None:
    digest = hashlib.sha256(b"bid").digest()
    now = dt.datetime(2026, 3, 1, 8, 30, 15, tzinfo=dt.UTC)
    token = timestamp_digest(digest, directory=tsa_dir, now=now)
    tampered = token.replace(b"20260301083015Z", b"20260301073015Z")

    assert tampered != token
    assert token_info(tampered)["gen_time"] == now - dt.timedelta(hours=1)
    with pytest.raises(TimestampError, match="altered"):
        verify_token(tampered, digest, directory=tsa_dir)


def test_verify_token_detects_a_tampered_signature(tsa_dir: Path) -> None:
    digest = hashlib.sha256(b"bid").digest()
    token = cms.ContentInfo.load(timestamp_digest(digest, directory=tsa_dir))
    signer = token["content"]["signer_infos"][0]
    signature = bytearray(signer["signature"].native)
    signature[-1] ^= 0x01
    signer["signature"] = bytes(signature)

    with pytest.raises(TimestampError):
        verify_token(token.dump(force=True), digest, directory=tsa_dir)


def test_verify_token_detects_every_single_byte_flip(tsa_dir: Path) -> None:
    digest = hashlib.sha256(b"bid").digest()
    token = timestamp_digest(digest, directory=tsa_dir, cert_req=False)

    accepted = []
    for index in range(len(token)):
        tampered = bytearray(token)
        tampered[index] ^= 0x40
        try:
            verify_token(bytes(tampered), digest, directory=tsa_dir)
        except TimestampError:
            continue
        accepted.append(index)

    assert accepted == []


def test_verify_token_rejects_a_token_from_another_tsa(tsa_dir: Path, tmp_path: Path) -> None:
    ensure_tsa_keys(tmp_path)
    digest = hashlib.sha256(b"bid").digest()

    with pytest.raises(TimestampError, match="not signed by this TSA"):
        verify_token(timestamp_digest(digest, directory=tmp_path), digest, directory=tsa_dir)


@pytest.mark.parametrize("der", [b"", b"\x30\x00", b"not der at all", b"\x30\x03\x06\x01\x00"])
def test_malformed_tokens_raise_timestamp_error(tsa_dir: Path, der: bytes) -> None:
    with pytest.raises(TimestampError):
        verify_token(der, b"\x00" * 32, directory=tsa_dir)
    with pytest.raises(TimestampError):
        token_info(der)


def test_verify_token_refuses_a_rejection_response(tsa_dir: Path) -> None:
    rejection = respond(b"junk", directory=tsa_dir).der

    with pytest.raises(TimestampError, match="rejection"):
        verify_token(rejection, b"\x00" * 32, directory=tsa_dir)


# -- keys ---------------------------------------------------------------------------------------


def test_ensure_tsa_keys_creates_the_three_files_with_a_private_key_file(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "tsa"
    ensure_tsa_keys(directory)

    for name in (CA_FILE, CERT_FILE, KEY_FILE):
        assert (directory / name).is_file()
    assert (directory / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert not list(directory.glob("*.tmp"))


def test_ensure_tsa_keys_is_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    ensure_tsa_keys(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in (CA_FILE, CERT_FILE, KEY_FILE)}

    ensure_tsa_keys(tmp_path)
    ensure_tsa_keys(tmp_path)

    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_ensure_tsa_keys_leaves_a_complete_read_only_directory_alone(tmp_path: Path) -> None:
    ensure_tsa_keys(tmp_path)
    (tmp_path / ".lock").unlink()
    tmp_path.chmod(0o555)
    try:
        ensure_tsa_keys(tmp_path)  # as in production, where the keys are mounted read-only
    finally:
        tmp_path.chmod(0o755)

    assert not (tmp_path / ".lock").exists()


def test_ensure_tsa_keys_refuses_to_complete_a_partial_directory(tmp_path: Path) -> None:
    ensure_tsa_keys(tmp_path)
    (tmp_path / CA_FILE).unlink()
    cert_before = (tmp_path / CERT_FILE).read_bytes()

    with pytest.raises(TsaKeyError, match="missing ca.pem"):
        ensure_tsa_keys(tmp_path)
    assert (tmp_path / CERT_FILE).read_bytes() == cert_before
    assert not (tmp_path / CA_FILE).exists()


def test_concurrent_ensure_tsa_keys_produce_one_consistent_set(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ensure_tsa_keys(tmp_path)
        except BaseException as exc:  # noqa: BLE001 -- collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    load_tsa(tmp_path)  # checks key, certificate and CA belong together


def test_tsa_certificate_has_critical_timestamping_eku_only(tsa_dir: Path) -> None:
    cert = x509.load_pem_x509_certificate((tsa_dir / CERT_FILE).read_bytes())
    ca = x509.load_pem_x509_certificate((tsa_dir / CA_FILE).read_bytes())

    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert not usage.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=3650) <= lifetime <= dt.timedelta(days=3670)


def test_openssl_accepts_the_tsa_certificate_for_timestamp_signing(work: Path) -> None:
    result = openssl(
        "verify", "-CAfile", "ca.pem", "-purpose", "timestampsign", "tsa.pem", cwd=work
    )

    assert result.returncode == 0, result.stderr
    assert "tsa.pem: OK" in result.stdout


def test_certs_pem_is_tsa_certificate_then_ca(tsa_dir: Path) -> None:
    chain = x509.load_pem_x509_certificates(certs_pem(tsa_dir))

    assert [c.subject for c in chain] == [
        load_tsa(tsa_dir).cert.subject,
        load_tsa(tsa_dir).ca_cert.subject,
    ]


def test_load_tsa_explains_missing_keys(tmp_path: Path) -> None:
    with pytest.raises(TsaKeyError, match="tsa_init"):
        load_tsa(tmp_path / "nowhere")


def test_load_tsa_refuses_a_key_that_does_not_match_the_certificate(tmp_path: Path) -> None:
    ensure_tsa_keys(tmp_path / "a")
    ensure_tsa_keys(tmp_path / "b")
    shutil.copy(tmp_path / "b" / KEY_FILE, tmp_path / "a" / KEY_FILE)
    clear_tsa_cache()

    with pytest.raises(TsaKeyError, match="does not belong"):
        load_tsa(tmp_path / "a")


def test_load_tsa_is_cached_per_directory(tsa_dir: Path, tmp_path: Path) -> None:
    ensure_tsa_keys(tmp_path)

    assert load_tsa(tsa_dir) is load_tsa(tsa_dir)
    assert load_tsa(tmp_path) is not load_tsa(tsa_dir)


# -- Django views and command -------------------------------------------------------------------


def _django_ready() -> bool:
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return False
    try:
        from django.conf import settings

        return bool(settings.TSA_DIR)
    except Exception:  # noqa: BLE001 -- settings still being written
        return False


django_only = pytest.mark.skipif(not _django_ready(), reason="Django settings not importable")

TEST_MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]


@pytest.fixture
def tsa_settings(tsa_dir: Path):
    from django.test import override_settings

    with override_settings(
        TSA_DIR=tsa_dir, ROOT_URLCONF="timestamps.urls", MIDDLEWARE=TEST_MIDDLEWARE
    ):
        yield


@pytest.fixture
def tsa_client(tsa_settings):
    from django.test import Client

    return Client(enforce_csrf_checks=True)


@django_only
def test_view_answers_an_openssl_query_without_csrf_token(tsa_client, work: Path) -> None:
    query = make_query(work, "-sha256", "-cert")

    response = tsa_client.post("/tsa", query, content_type="application/timestamp-query")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/timestamp-reply"
    assert response["Cache-Control"] == "no-store"
    (work / "r.tsr").write_bytes(response.content)
    result = openssl(
        "ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "certs.pem", cwd=work
    )
    assert verified(result), result.stdout + result.stderr


@django_only
def test_view_rejects_malformed_query_with_400_and_rfc3161_rejection(tsa_client) -> None:
    response = tsa_client.post("/tsa", b"junk", content_type="application/timestamp-query")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/timestamp-reply"
    assert status_of(response.content) == ("rejection", {"bad_data_format"})


@django_only
def test_view_rejects_unaccepted_policy_with_400(tsa_client) -> None:
    query = build_query(b"\x01" * 32, policy="1.2.3.4")

    response = tsa_client.post("/tsa", query, content_type="application/timestamp-query")

    assert response.status_code == 400
    assert status_of(response.content) == ("rejection", {"unaccepted_policy"})


@django_only
def test_view_refuses_wrong_content_type_with_415(tsa_client) -> None:
    response = tsa_client.post(
        "/tsa", build_query(b"\x01" * 32), content_type="application/octet-stream"
    )

    assert response.status_code == 415


@django_only
def test_view_accepts_content_type_parameters(tsa_client) -> None:
    response = tsa_client.post(
        "/tsa", build_query(b"\x01" * 32), content_type="Application/Timestamp-Query; name=q.tsq"
    )

    assert response.status_code == 200


@django_only
def test_view_refuses_get_with_405(tsa_client) -> None:
    assert tsa_client.get("/tsa").status_code == 405


@django_only
def test_view_refuses_a_body_over_64_kib_with_413(tsa_client) -> None:
    response = tsa_client.post(
        "/tsa", b"\x30" * (64 * 1024 + 1), content_type="application/timestamp-query"
    )

    assert response.status_code == 413


@django_only
def test_view_answers_503_with_system_failure_when_keys_are_missing(tmp_path: Path) -> None:
    from django.test import RequestFactory, override_settings

    from timestamps.views import certs_pem_view, tsa_view

    request = RequestFactory().post("/tsa", b"junk", content_type="application/timestamp-query")
    with override_settings(TSA_DIR=tmp_path / "missing"):
        response = tsa_view(request)
        certs = certs_pem_view(RequestFactory().get("/tsa/certs.pem"))

    assert response.status_code == 503
    assert status_of(response.content) == ("rejection", {"system_failure"})
    assert certs.status_code == 503


@django_only
def test_certs_view_serves_the_pem_chain(tsa_client, tsa_dir: Path) -> None:
    response = tsa_client.get("/tsa/certs.pem")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pem-certificate-chain"
    assert response.content == certs_pem(tsa_dir)


@django_only
def test_certs_view_refuses_post_with_405(tsa_settings) -> None:
    from django.test import RequestFactory

    from timestamps.views import certs_pem_view

    assert certs_pem_view(RequestFactory().post("/tsa/certs.pem")).status_code == 405


@django_only
def test_views_via_request_factory(tsa_dir: Path) -> None:
    from django.test import RequestFactory, override_settings

    from timestamps.views import tsa_view

    request = RequestFactory().post(
        "/tsa", build_query(b"\x01" * 32), content_type="application/timestamp-query"
    )
    with override_settings(TSA_DIR=tsa_dir):
        response = tsa_view(request)

    assert response.status_code == 200
    assert getattr(tsa_view, "csrf_exempt", False)
    assert token_info(response.content)["digest"] == b"\x01" * 32


@django_only
def test_tsa_init_command_creates_keys_once(tmp_path: Path) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.test import override_settings

    directory = tmp_path / "tsa"
    first, second = StringIO(), StringIO()
    with override_settings(TSA_DIR=directory):
        call_command("tsa_init", stdout=first)
        key_before = (directory / KEY_FILE).read_bytes()
        call_command("tsa_init", stdout=second)

    assert "TSA keys created" in first.getvalue()
    assert "TSA keys already present" in second.getvalue()
    assert str(directory / KEY_FILE) in second.getvalue()
    assert POLICY_OID in second.getvalue()
    assert (directory / KEY_FILE).read_bytes() == key_before
