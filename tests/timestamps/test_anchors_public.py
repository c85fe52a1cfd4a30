"""Published ledger anchors (issue 15): listed publicly, and checkably one chain (a Certificate Transparency-style
consistency check that fails for a forked or rewritten ledger)."""

import base64
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.timestamps.test_verify import run_verifier
from timestamps.anchors import ledger_anchor
from timestamps.chain import entry_hash
from timestamps.evidence import anchors_read, anchors_verify
from timestamps.ledger import ledger_append
from timestamps.models import LedgerAnchor
from timestamps.published import tsa_chain_pem

pytestmark = pytest.mark.django_db


def append(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        ledger_append(action="test.event", actor="tester", obj=("test", str(i)), data={"i": i, "名": "值"})


@pytest.fixture
def anchored() -> list[LedgerAnchor]:
    """Three anchors over a ledger of 9 entries."""
    for block in range(3):
        append(3, start=block * 3)
        ledger_anchor(force=True)
    return list(LedgerAnchor.objects.order_by("seq"))


@pytest.fixture
def published(api, anchored, tmp_path) -> Path:
    """The anchor list as anyone downloads it, a ledger export from entry 1, and the TSA chain."""
    body = api.get("/api/v1/ledger/anchors").json()
    (tmp_path / "anchors.json").write_text(json.dumps(body), encoding="utf-8")
    call_command("ledger_export", str(tmp_path / "export"), stdout=StringIO())
    (tmp_path / "certs.pem").write_bytes(tsa_chain_pem())
    return tmp_path


def test_anchors_api_lists_every_anchor_by_seq_without_login(api, anchored):
    response = api.get("/api/v1/ledger/anchors")
    assert response.status_code == 200
    body = response.json()
    assert [a["seq"] for a in body["anchors"]] == [3, 6, 9] and body["next"] is None
    assert body["anchors"][1]["head_hash"] == anchored[1].head_hash
    assert body["certificates"].endswith("/tsa/certs.pem")


def test_anchors_api_pages_by_seq(api, anchored):
    first = api.get("/api/v1/ledger/anchors", {"limit": 2}).json()
    assert [a["seq"] for a in first["anchors"]] == [3, 6] and "after=6" in first["next"]
    rest = api.get(first["next"]).json()
    assert [a["seq"] for a in rest["anchors"]] == [9] and rest["next"] is None
    assert api.get("/api/v1/ledger/anchors", {"after": 9}).json()["anchors"] == []


@pytest.mark.parametrize("params", [{"after": "x"}, {"after": "-1"}, {"limit": "0"}, {"limit": "1001"}])
def test_anchors_api_refuses_bad_paging(api, params):
    assert api.get("/api/v1/ledger/anchors", params).status_code == 400


def test_anchors_page_lists_them_without_login(client, anchored):
    response = client.get("/portal/ledger/anchors/")
    assert response.status_code == 200
    html = response.content.decode()
    assert all(anchor.head_hash in html for anchor in anchored)


def test_published_anchors_are_consistent_with_the_real_ledger(published):
    anchors = anchors_read((published / "anchors.json").read_bytes())
    ledger = (published / "export" / "ledger.jsonl").read_bytes()
    verdict = anchors_verify(anchors=anchors, certs_pem=(published / "certs.pem").read_bytes(), ledger=ledger)
    assert verdict.ok, verdict.checks
    assert [c.code for c in verdict.checks] == ["tokens", "consistency"]


def test_the_offline_verifier_checks_the_anchor_list_without_django(published):
    result = run_verifier("anchors", "anchors.json", "--export", "export", cwd=published)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK   consistency: 3 anchors lie on one chain" in result.stdout


def rewrite(lines: list[str], at: int) -> list[str]:
    """A rewritten history: entry ``at`` changed and every later hash recomputed, so the export chains by itself."""
    entries = [json.loads(line) for line in lines]
    entries[at - 1]["data"] = {"i": 999}
    prev = entries[at - 1]["prev_hash"]
    for entry in entries[at - 1:]:
        body = {k: entry[k] for k in ("seq", "at", "actor", "ip", "action", "object", "data")}
        entry["prev_hash"], entry["hash"] = prev, entry_hash(prev, body)
        prev = entry["hash"]
    return [json.dumps(e, ensure_ascii=False, sort_keys=True) for e in entries]


def test_a_rewritten_ledger_is_not_consistent_with_the_published_anchors(published):
    export = published / "export" / "ledger.jsonl"
    export.write_text("\n".join(rewrite(export.read_text(encoding="utf-8").splitlines(), at=5)) + "\n",
                      encoding="utf-8")
    result = run_verifier("anchors", "anchors.json", "--export", "export", cwd=published)
    assert result.returncode == 1
    assert "FAIL consistency: the anchor at entry 6 is not in this chain" in result.stdout


def test_a_forked_anchor_list_fails_even_with_valid_tokens(published, anchored):
    """An anchor over a head of another history: its token is good, but it does not extend the one before."""
    from timestamps.stamping import stamp

    lines = (published / "export" / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    forked_head = json.loads(rewrite(lines, at=8)[8])["hash"]
    body = json.loads((published / "anchors.json").read_text())
    body["anchors"][2]["head_hash"] = forked_head
    body["anchors"][2]["token"] = base64.b64encode(stamp(bytes.fromhex(forked_head))).decode()
    (published / "anchors.json").write_text(json.dumps(body))
    verdict = anchors_verify(anchors=anchors_read((published / "anchors.json").read_bytes()),
                             certs_pem=(published / "certs.pem").read_bytes(),
                             ledger=(published / "export" / "ledger.jsonl").read_bytes())
    assert [(c.code, c.ok) for c in verdict.checks] == [("tokens", True), ("consistency", False)]
    assert "entry 9 is not in this chain" in verdict.checks[-1].detail


def test_an_anchor_list_with_a_changed_head_hash_fails_its_token(published):
    body = json.loads((published / "anchors.json").read_text())
    body["anchors"][1]["head_hash"] = "f" * 64
    (published / "anchors.json").write_text(json.dumps(body))
    result = run_verifier("anchors", "anchors.json", cwd=published)
    assert result.returncode == 1 and "FAIL token: anchor at entry 6" in result.stdout


def test_an_anchor_list_out_of_order_fails(published):
    body = json.loads((published / "anchors.json").read_text())
    body["anchors"] = body["anchors"][::-1]
    (published / "anchors.json").write_text(json.dumps(body))
    verdict = anchors_verify(anchors=anchors_read((published / "anchors.json").read_bytes()),
                             certs_pem=(published / "certs.pem").read_bytes())
    assert not verdict.ok and verdict.checks[-1].code == "order"
