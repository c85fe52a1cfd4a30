"""The access matrix's world (tests/core/test_access_matrix.py): two agencies, two bidders, every kind of object."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

from bidding.models import Bid, OpeningRoom
from experts.models import Pick, PublicityObjection
from experts.services import award as award_services
from experts.services.accounts import activation_token
from tests.bidflow import bid_through_api, kit_for
from tests.credit.test_blacklist import bar
from tests.experts.test_experts_evaluation import publicized
from tests.experts.test_experts_kit import make_experts
from tests.factories import (
    OrganizationFactory,
    SectionFactory,
    UserFactory,
    add_document,
    bidder_user,
    publish_section,
    supervisor_user,
)
from trading.archives.models import SectionArchive
from trading.complaints import services as complaints
from trading.credit.services.blacklist import credit_appeal_submit
from trading.deposits.bank.client import use_client
from trading.deposits.bank.simulator import BankSimulator, deliver_with
from trading.deposits.models import DepositAccount, DepositForfeiture
from trading.deposits.services.deposits import deposit_forfeit_propose
from trading.files import write_stored
from trading.models import (
    DocumentObjection,
    Organization,
    Project,
    Question,
    TenderDocument,
    User,
)
from trading.services import clarifications
from trading.services.registrations import registration_create
from trading.supervision.models import DeadlineAlert, RatingFollowUp, SupervisionAlert
from trading.supervision.services import ratings

REGISTRANT_A = "甲方建设集团有限公司"
REGISTRANT_B = "乙方路桥工程有限公司"
SECRET_REGISTRANT = "丙方隧道工程有限公司"  # signed up, paid and bid on agency A's published section, seen nowhere else


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)


def _pay(api, bank, section, user) -> DepositAccount:
    account = DepositAccount.objects.get(section=section, organization=user.organization)
    org = user.organization
    bank.pay(deliver_with(api), virtual_account=account.virtual_account, amount=section.deposit_amount,
             payer_account=org.basic_account_number, payer_name=org.name)
    account.refresh_from_db()
    assert account.status == DepositAccount.Status.PAID
    return account


def build_world() -> World:
    """Agency A's sections (evaluated and publicized, published with a bid, draft), agency B's published one."""
    world = World()
    bank = BankSimulator(seed=13)
    use_client(bank)
    try:
        return _build(world, bank)
    finally:
        use_client(None)


def _build(world: World, bank) -> World:
    api = APIClient()
    evaluated, bids, publicity = publicized()
    OpeningRoom.objects.create(section=evaluated, phase=OpeningRoom.Phase.CLOSED)  # its opening is over
    agency_a = evaluated.project.created_by
    project_a: Project = evaluated.project
    agency_b = UserFactory(role=User.Role.AGENCY,
                           organization=OrganizationFactory(kind=Organization.Kind.AGENCY, name="乙招标代理有限公司"))
    project_b = Project.objects.create(code="MX-B-1", name="乙代理的项目", owner_name="乙业主", agency=agency_b.organization,
                                       category=Project.Category.CONSTRUCTION, funding=Project.Funding.STATE,
                                       estimated_price=Decimal("10000000.00"), created_by=agency_b)
    published = publish_section(project=project_a, title="甲 已发布标段")
    draft = SectionFactory(project=project_a, title="甲 草稿标段")
    published_b = publish_section(project=project_b, title="乙 已发布标段")
    add_document(published_b, agency_b)

    bidder_a = bidder_user(organization=OrganizationFactory(name=REGISTRANT_A))
    bidder_b = bidder_user(organization=OrganizationFactory(name=REGISTRANT_B))
    registration_create(user=bidder_a, section_id=published.pk)
    _pay(api, bank, published, bidder_a)
    registration_create(user=bidder_b, section_id=published_b.pk)
    _pay(api, bank, published_b, bidder_b)
    kit = kit_for(api, bidder_a)
    receipt, _envelope = bid_through_api(api, kit, published)
    bid = Bid.objects.get(public_id=receipt["bid_id"])
    pending_upload = api.post(f"/api/v1/sections/{published.public_id}/bids/uploads", {"size": 10, "chunk_size": 65536},
                              format="json", **kit.auth).json()["upload_id"]
    kit_for(api, bidder_b)
    secret = bidder_user(organization=OrganizationFactory(name=SECRET_REGISTRANT))
    registration_create(user=secret, section_id=published.pk)
    _pay(api, bank, published, secret)
    bid_through_api(api, kit_for(api, secret), published, price="7654321.00")

    question = clarifications.question_ask(user=bidder_a, section_id=published.pk, text="工期能否调整？")
    objection = clarifications.objection_submit(user=bidder_a, section_id=published.pk, text="评分办法不合理")
    clarifications.clarification_publish(user=agency_a, section_id=published.pk, text="工期调整为 200 日历天。",
                                         answers=[question.public_id])
    forfeiture = deposit_forfeit_propose(section=published, organization_id=bidder_a.organization_id,
                                         reason=DepositForfeiture.Reason.REVOKED)

    supervisor = supervisor_user()
    admin = UserFactory(role=User.Role.ADMIN, organization=None, is_staff=True, is_superuser=True)
    record = bar(bidder_a.organization, supervisor=supervisor)
    appeal = credit_appeal_submit(user=bidder_a, record_id=record.public_id, text="我公司未参与串通")
    now = timezone.now()
    alert = DeadlineAlert.objects.create(
        kind=DeadlineAlert.Kind.OBJECTION_ANSWER, level=DeadlineAlert.Level.REMINDER, subject_type="trading.documentobjection",
        subject_id=str(objection.pk), section=published, organization=agency_a.organization, message="异议待答复",
        due_at=now + timedelta(days=3), raised_at=now)
    SupervisionAlert.objects.create(kind=SupervisionAlert.Kind.REFUND_REJECTED, section=evaluated, message="退款被拒")
    rating = ratings.rating_submit(user=agency_a, section=evaluated, stage="opening", score=1, comment="解密时系统卡顿")
    follow_up = RatingFollowUp.objects.get(rating=rating)
    picks = list(Pick.objects.filter(draw__section=evaluated, primary=True).select_related("expert__user", "draw"))
    expert = picks[0].expert.user
    expert_other = User.objects.filter(role=User.Role.EXPERT, expert_profile__picks__isnull=True).first()
    publicity_objection = award_services.publicity_objection_raise(
        user=bids[1].submitted_by, section_id=evaluated.pk, text="第一候选人业绩不实")
    assert publicity_objection and PublicityObjection.objects.exists()

    # 投诉 (R35–R37): bidder A's open complaint about agency A's published section, with one file of evidence; and a
    # decided one about the evaluated section, which the portal publishes.
    complaint = complaints.complaint_file(user=bidder_a, section_id=published.pk, matter="other", request="撤销资格条件",
                                          facts="资格条件排斥潜在投标人", known_at=now,
                                          evidence=[("证据.pdf", [b"%PDF-1.4 evidence"])])
    decided = complaints.complaint_file(user=bidder_a, section_id=evaluated.pk, matter="other", request="重新评标",
                                        facts="评标违反招标文件", known_at=now,
                                        evidence=[("证据.pdf", [b"%PDF-1.4 evidence"])])
    complaints.complaint_accept(user=supervisor, complaint_id=decided.pk)
    complaints.complaint_decide(user=supervisor, complaint_id=decided.pk, outcome="dismissed", decision="投诉缺乏事实根据")
    # A pool expert without an account, invited: the activation link is valid (a token, not a login, is the proof,
    # so every role gets the same page).
    invitee = make_experts(1, prefix="MXN", start=900)[0]
    invitee.account_invited_at = now
    invitee.save(update_fields=["account_invited_at"])
    # 电子档案: the evaluated section's archive row over a small stored zip. The section has not ended, so
    # archive_build would refuse it; the download's access rule (the agency, supervisors) does not look at that.
    archive_path = f"archives/{evaluated.public_id}/{evaluated.public_id}-archive.zip"
    write_stored(archive_path, b"PK\x05\x06" + b"\x00" * 18)
    SectionArchive.objects.create(section=evaluated, storage_path=archive_path, size=22, sha256="0" * 64,
                                  manifest_sha256="0" * 64, files=0, ledger_from=1, ledger_to=1, created_at=now,
                                  retain_until=now + timedelta(days=3650))

    world.users = {"bidder_own": bidder_a, "bidder_other": bidder_b, "agency_own": agency_a, "agency_other": agency_b,
                   "expert": expert, "expert_other": expert_other, "supervisor": supervisor, "admin": admin}
    world.objects = {"published": published, "published_b": published_b, "draft": draft, "evaluated": evaluated,
                     "bid": bid, "picks": picks, "publicity": publicity,
                     "secret_registrant": secret}
    world.ids = {
        "project": project_a.public_id, "published": published.public_id, "draft": draft.public_id,
        "evaluated": evaluated.public_id, "published_b": published_b.public_id,
        "document": TenderDocument.objects.filter(section=published).first().public_id,
        "objection": objection.public_id, "question": question.public_id, "bid": bid.public_id,
        "upload": pending_upload, "evaluated_bid": bids[0].public_id, "draw": picks[0].draw.public_id,
        "pick": next(p for p in picks if p.expert.user == expert).public_id, "record": record.public_id,
        "appeal": appeal.public_id, "alert": alert.public_id, "follow_up": follow_up.public_id,
        "forfeiture": forfeiture.public_id, "publicity_objection": publicity_objection.public_id,
        "expert_code": picks[0].expert.code,
        "complaint": complaint.public_id, "evidence": complaint.evidence.get().public_id, "complaint_action": "accept",
        "expert_invitee": invitee.code, "activation_token": activation_token(invitee),
    }
    assert Question.objects.filter(section=published).exists() and DocumentObjection.objects.exists()
    return world
