"""围标串标 signals (R32, R17): each with a positive and a negative case; evidence only, never a ban."""

import hashlib
import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from bidding.models import Bid
from tests.credit.test_blacklist import token, urlpatterns  # noqa: F401  (this module is its own urlconf)
from tests.factories import (
    OrganizationFactory,
    SectionFactory,
    UserFactory,
    agency_user,
    bidder_user,
    expert_user,
    supervisor_user,
)
from trading.credit.models import CollusionSignal
from trading.credit.services import collusion
from trading.credit.services.collusion import collusion_signals_compute
from trading.models import Section, User

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0"


def opened_section(**kwargs) -> Section:
    return SectionFactory(status=Section.Status.OPENED, published_at=timezone.now() - timedelta(days=30), **kwargs)


def make_bid(section, *, price=None, ip="", ua="", sha=None, status=Bid.Status.DECRYPTED, org=None,
             documents_name="bid.zip") -> Bid:
    """A bid as the opening leaves it, without the envelope: enough for the signals."""
    user = UserFactory(role=User.Role.BIDDER, organization=org or OrganizationFactory())
    number = Bid.objects.filter(section=section).count() + 1
    price = price or f"{9800000 + number ** 2 * 13579}.00"  # neither equal, close nor evenly spaced
    sha = sha or hashlib.sha256(f"documents {number} {user.organization_id}".encode()).hexdigest()
    return Bid.objects.create(
        section=section, organization=user.organization, submitted_by=user, status=status, size=100,
        digest="0" * 64, signature=b"s", sign_kid="k", bidder_kid="k", opening_kid="k", header={},
        storage_path=f"bids/{section.public_id}/{number}.sbe", received_at=section.bid_deadline - timedelta(hours=1),
        timestamp_token=b"t", source_ip=ip, user_agent=ua, opening_no=number,
        summary={"price": price, "currency": "CNY", "documents": {"name": documents_name, "size": 1, "sha256": sha}}
        if status == Bid.Status.DECRYPTED else None)


def kinds(section) -> list[str]:
    return sorted(CollusionSignal.objects.filter(section=section).values_list("kind", flat=True))


def signal(section, kind) -> CollusionSignal:
    return CollusionSignal.objects.get(section=section, kind=kind)


# --- same IP, same device ------------------------------------------------------------------------


def test_r32_same_ip_is_a_signal_with_the_ip_as_evidence():
    section = opened_section()
    a = make_bid(section, ip="203.0.113.7", ua=CHROME)
    b = make_bid(section, ip="203.0.113.7", ua=FIREFOX)
    make_bid(section, ip="198.51.100.2", ua=CHROME)
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_ip"]
    found = signal(section, "same_ip")
    assert found.evidence["ip"] == "203.0.113.7"
    assert set(found.organizations.all()) == {a.organization, b.organization}


def test_r32_different_ips_are_no_signal_even_with_the_same_browser():
    section = opened_section()
    for ip in ("203.0.113.7", "203.0.113.8", "198.51.100.2"):
        make_bid(section, ip=ip, ua=CHROME)
    collusion_signals_compute(section=section)
    assert kinds(section) == []


def test_r32_same_device_is_the_same_ip_and_user_agent():
    section = opened_section()
    make_bid(section, ip="203.0.113.7", ua=CHROME)
    make_bid(section, ip="203.0.113.7", ua=CHROME)
    make_bid(section, ip="203.0.113.9", ua=CHROME)
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_device"]
    assert signal(section, "same_device").evidence["user_agent"] == CHROME


def test_r32_two_bids_of_one_bidder_are_no_signal():
    section = opened_section()
    org = OrganizationFactory()
    make_bid(section, ip="203.0.113.7", ua=CHROME, org=org, status=Bid.Status.REVOKED)
    make_bid(section, ip="203.0.113.7", ua=CHROME, org=org)
    collusion_signals_compute(section=section)
    assert kinds(section) == []


# --- identical documents -------------------------------------------------------------------------


def test_r32_identical_envelope_plaintext_hashes_are_a_signal():
    section = opened_section()
    make_bid(section, sha="ab" * 32)
    make_bid(section, sha="AB" * 32)
    make_bid(section)
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_document_hash"]
    assert signal(section, "same_document_hash").evidence["sha256"] == "ab" * 32


def test_r32_different_documents_are_no_signal():
    section = opened_section()
    for _ in range(3):
        make_bid(section)
    collusion_signals_compute(section=section)
    assert kinds(section) == []


def docx(author: str, created: str = "2026-10-01T08:00:00Z", body: str = "技术标") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("docProps/core.xml", (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">'
            f"<dc:creator>{author}</dc:creator><cp:lastModifiedBy>{author}</cp:lastModifiedBy>"
            f'<dcterms:created>{created}</dcterms:created></cp:coreProperties>'))
        archive.writestr("word/document.xml", f"<w:document>{body}</w:document>")
    return out.getvalue()


def pdf(author: str, creator: str = "WPS Writer") -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Title (bid) /Author (" + author.encode() + b") /Creator (" + creator.encode()
            + b") /CreationDate (D:20261001080000+08'00') >> endobj\ntrailer << /Info 1 0 R >>\n%%EOF\n")


def bid_zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def decrypted():
    """A source of each bid's decrypted documents, standing in for the evaluation's copy."""
    from trading import signals

    files = {}

    def source(sender, *, bid, **kwargs):
        return files.get(bid.pk)

    signals.bid_documents_wanted.connect(source, dispatch_uid="tests.decrypted")

    def put(bid, data: bytes):
        files[bid.pk] = data

    yield put
    signals.bid_documents_wanted.disconnect(dispatch_uid="tests.decrypted")


def test_metadata_readers_find_docx_and_pdf_authors():
    assert collusion.docx_metadata(docx("张三"))["author"] == "张三"
    meta = collusion.pdf_metadata(pdf("Zhang San"))
    assert meta == {"author": "Zhang San", "creator": "WPS Writer", "created": "D:20261001080000+08'00'"}
    assert collusion.docx_metadata(b"not a zip") == {} and collusion.pdf_metadata(b"%PDF-1.4\n%%EOF") == {}


def test_r32_identical_docx_metadata_inside_two_bids_is_a_signal(decrypted):
    section = opened_section()
    a, b, c = make_bid(section), make_bid(section), make_bid(section)
    decrypted(a, bid_zip(**{"技术标.docx": docx("王工", body="a")}))
    decrypted(b, bid_zip(**{"tech.docx": docx("王工", body="b")}))
    decrypted(c, bid_zip(**{"技术标.docx": docx("李工", body="c")}))
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_document_metadata"]
    evidence = signal(section, "same_document_metadata").evidence
    assert evidence["metadata"]["author"] == "王工" and set(evidence["files"]) == {a.public_id, b.public_id}


def test_r32_identical_pdf_info_is_a_signal_and_different_authors_are_not(decrypted):
    section = opened_section()
    a, b, c = make_bid(section), make_bid(section), make_bid(section)
    decrypted(a, pdf("Zhang San") + b"% bid a")
    decrypted(b, pdf("Zhang San") + b"% bid b")
    decrypted(c, pdf("Li Si") + b"% bid c")
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_document_metadata"]
    assert set(signal(section, "same_document_metadata").organizations.all()) == {a.organization, b.organization}


def test_r32_different_metadata_and_files_are_no_signal(decrypted):
    section = opened_section()
    for i, author in enumerate(("甲", "乙", "丙")):
        decrypted(make_bid(section), bid_zip(**{"技术标.docx": docx(author, body=str(i))}))
    collusion_signals_compute(section=section)
    assert kinds(section) == []


def test_r32_the_same_file_inside_different_bids_is_a_signal(decrypted):
    section = opened_section()
    shared = b"%PDF-1.4 the same construction plan"
    a, b = make_bid(section), make_bid(section)
    decrypted(a, bid_zip(**{"施工组织设计.pdf": shared, "报价.xlsx": b"a"}))
    decrypted(b, bid_zip(**{"plan.pdf": shared, "报价.xlsx": b"b"}))
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_document_file"]
    assert sorted(signal(section, "same_document_file").evidence["files"].values()) == ["plan.pdf", "施工组织设计.pdf"]


def test_r32_documents_decrypted_for_evaluation_are_read_from_the_file_store():
    from experts.models import Evaluation, EvaluationDocument

    section = opened_section()
    evaluation = Evaluation.objects.create(section=section, started_at=timezone.now())
    for i in range(2):
        bid = make_bid(section)
        relative = f"evaluation/{section.public_id}/{bid.public_id}.zip"
        path = settings.FILE_STORE_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bid_zip(**{"技术标.docx": docx("同一作者", body=str(i))}))
        EvaluationDocument.objects.create(evaluation=evaluation, bid=bid, storage_path=relative)
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_document_metadata"]


# --- prices --------------------------------------------------------------------------------------


def prices_signals(*prices: str) -> list[str]:
    section = opened_section()
    for price in prices:
        make_bid(section, price=price)
    collusion_signals_compute(section=section)
    return kinds(section)


def test_r32_identical_prices_are_a_signal():
    assert prices_signals("9800000.00", "9800000", "9500000.00") == ["price_identical"]


def test_r32_prices_within_half_a_percent_are_abnormally_close():
    assert prices_signals("10000000.00", "10030000.00", "10045000.00") == ["price_cluster"]


def test_r32_prices_spread_over_half_a_percent_are_not_close():
    assert prices_signals("10000000.00", "10060000.00", "10020000.00") == []


def test_r32_three_prices_in_arithmetic_progression_are_a_signal():
    section = opened_section()
    for price in ("9000000.00", "9730000.00", "9500000.00", "10000000.00"):
        make_bid(section, price=price)
    collusion_signals_compute(section=section)
    assert kinds(section) == ["price_progression"]
    evidence = signal(section, "price_progression").evidence
    assert evidence["prices"] == ["9000000.00", "9500000.00", "10000000.00"]
    assert evidence["steps"] == ["500000.00", "500000.00"]


def test_r32_steps_equal_within_a_tenth_of_a_percent_count_and_wider_do_not():
    assert prices_signals("9000000.00", "9500000.00", "10000400.00") == ["price_progression"]
    assert prices_signals("9000000.00", "9500000.00", "10001000.00") == []


def test_r32_prices_of_undecrypted_bids_are_ignored():
    section = opened_section()
    make_bid(section, price="9800000.00")
    make_bid(section, price="9800000.00", status=Bid.Status.REVOKED)
    collusion_signals_compute(section=section)
    assert kinds(section) == []


# --- R17 from deposits, idempotence, R14 -----------------------------------------------------------


def test_r17_same_payer_account_comes_from_deposits_and_is_shown_with_the_others(api):
    from trading.deposits.models import BankTransaction, DepositAccount
    from trading.deposits.services.deposits import collusion_check

    section = opened_section()
    a, b = make_bid(section, ip="203.0.113.7", ua=CHROME), make_bid(section, ip="203.0.113.7", ua=FIREFOX)
    for i, bid in enumerate((a, b)):
        account = DepositAccount.objects.create(section=section, organization=bid.organization,
                                                virtual_account=f"95580000000000000{i}")
        txn = BankTransaction.objects.create(
            txn_id=f"T{i}", virtual_account=account.virtual_account, account=account, amount=Decimal("200000.00"),
            currency="CNY", payer_account="6222020200001111", payer_name="某某", paid_at=timezone.now(),
            outcome="credited", body_sha256="0" * 64)
        collusion_check(txn=txn, now=timezone.now())
    collusion_signals_compute(section=section)
    assert kinds(section) == ["same_ip", "same_payer_account"]
    listed = api.get(f"/api/v1/sections/{section.public_id}/collusion-signals", **token(supervisor_user())).json()
    payer = next(s for s in listed if s["kind"] == "same_payer_account")
    assert payer["evidence"]["payer_account"] == "6222020200001111" and "R17" in payer["label"]


def test_r17_different_payer_accounts_are_no_signal():
    from trading.deposits.models import BankTransaction, DepositAccount
    from trading.deposits.services.deposits import collusion_check

    section = opened_section()
    for i in range(2):
        bid = make_bid(section)
        account = DepositAccount.objects.create(section=section, organization=bid.organization,
                                                virtual_account=f"95580000000000001{i}")
        txn = BankTransaction.objects.create(
            txn_id=f"U{i}", virtual_account=account.virtual_account, account=account, amount=Decimal("1.00"),
            currency="CNY", payer_account=f"622202020000222{i}", payer_name="x", paid_at=timezone.now(),
            outcome="credited", body_sha256="0" * 64)
        collusion_check(txn=txn, now=timezone.now())
    assert kinds(section) == []


def test_recomputing_adds_nothing_twice_and_a_signal_is_not_a_ban():
    section = opened_section()
    a = make_bid(section, ip="203.0.113.7", ua=CHROME)
    make_bid(section, ip="203.0.113.7", ua=FIREFOX)
    assert len(collusion_signals_compute(section=section)) == 1
    assert collusion_signals_compute(section=section) == []
    assert CollusionSignal.objects.filter(section=section).count() == 1
    a.refresh_from_db()
    assert a.status == Bid.Status.DECRYPTED


def test_r14_nothing_is_computed_before_the_opening():
    section = SectionFactory(status=Section.Status.PUBLISHED, published_at=timezone.now())
    make_bid(section, ip="203.0.113.7", ua=CHROME)
    make_bid(section, ip="203.0.113.7", ua=CHROME)
    assert collusion_signals_compute(section=section) == []


def test_the_sweep_computes_signals_for_opened_sections():
    from trading.sweeps import run_sweeps

    section = opened_section()
    make_bid(section, price="9800000.00")
    make_bid(section, price="9800000.00")
    run_sweeps()
    assert kinds(section) == ["price_identical"]


# --- who sees them -------------------------------------------------------------------------------


def committee_member(section) -> User:
    from experts.models import Draw, Expert, Pick

    user = expert_user()
    expert = Expert.objects.create(code="E9", name="委员", user=user, employer_name="院", employer_credit_code="9" * 18)
    now = timezone.now()
    draw = Draw.objects.create(section=section, requested_at=now, groups=[], evaluation_starts_at=now,
                               evaluation_ends_at=now, s_wrapped=b"", commitment="0" * 64, commitment_token=b"",
                               pools=[], pool_hashes=[], status=Draw.Status.COMPLETE)
    Pick.objects.create(draw=draw, expert=expert, group=0, specialty="土建", position=0, primary=True,
                        status=Pick.Status.CONFIRMED, seat=1)
    return user


def test_signals_are_shown_to_supervisors_and_the_committee_only(api):
    section = opened_section()
    make_bid(section, ip="203.0.113.7", ua=CHROME)
    bidder = make_bid(section, ip="203.0.113.7", ua=FIREFOX).submitted_by
    collusion_signals_compute(section=section)
    url = f"/api/v1/sections/{section.public_id}/collusion-signals"
    assert api.get(url).status_code == 401
    agency = UserFactory(role=User.Role.AGENCY, organization=section.project.agency)
    for user in (bidder, bidder_user(), agency, agency_user(), expert_user()):
        assert api.get(url, **token(user)).status_code == 403
    for user in (supervisor_user(), committee_member(section)):
        response = api.get(url, **token(user))
        assert response.status_code == 200 and [s["kind"] for s in response.json()] == ["same_ip"]
