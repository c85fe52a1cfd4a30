"""The acceptance run of DESIGN.md §6 over real HTTP: openssl makes the query, curl posts it, openssl verifies."""

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def sh(cmd: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "bid.sbe").write_bytes(b"SBE1" + bytes(range(256)) * 100)
    (tmp_path / "other.sbe").write_bytes(b"another file")
    return tmp_path


def test_openssl_query_curl_post_and_openssl_verify(live_server, files):
    assert shutil.which("curl") and shutil.which("openssl")
    assert sh(["openssl", "ts", "-query", "-data", "bid.sbe", "-sha256", "-cert", "-out", "q.tsq"], files).returncode == 0
    post = sh(["curl", "-sS", "--fail", "--data-binary", "@q.tsq", "-H", "Content-Type: application/timestamp-query",
               "-o", "r.tsr", f"{live_server.url}/tsa"], files)
    assert post.returncode == 0, post.stderr
    certs = sh(["curl", "-sS", "--fail", "-o", "certs.pem", f"{live_server.url}/tsa/certs.pem"], files)
    assert certs.returncode == 0, certs.stderr
    verify = sh(["openssl", "ts", "-verify", "-queryfile", "q.tsq", "-in", "r.tsr", "-CAfile", "certs.pem"], files)
    assert "Verification: OK" in verify.stdout, verify.stdout + verify.stderr
    wrong = sh(["openssl", "ts", "-verify", "-data", "other.sbe", "-in", "r.tsr", "-CAfile", "certs.pem"], files)
    assert "Verification: OK" not in wrong.stdout
    assert wrong.returncode != 0
