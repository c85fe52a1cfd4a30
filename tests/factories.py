"""factory_boy factories for the domain objects."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from trading.models import Organization, Project, Registration, Section, TenderDocument, User
from trading.social_credit_code import credit_code_make

PASSWORD = "Test-pass-2026!"


def _credit_code(n: int) -> str:
    return credit_code_make(f"91330100{n:09d}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    kind = Organization.Kind.BIDDER
    name = factory.Sequence(lambda n: f"测试建设有限公司{n}")
    credit_code = factory.Sequence(_credit_code)
    legal_representative = "张三"
    basic_account_bank = "中国工商银行杭州分行"
    basic_account_number = factory.Sequence(lambda n: f"62220200{n:08d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.BIDDER
    organization = factory.SubFactory(OrganizationFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def agency_user(**kwargs) -> User:
    org = OrganizationFactory(kind=Organization.Kind.AGENCY, name="杭州市建设工程招标代理有限公司")
    return UserFactory(role=User.Role.AGENCY, organization=org, **kwargs)


def bidder_user(**kwargs) -> User:
    return UserFactory(role=User.Role.BIDDER, **kwargs)


def supervisor_user(**kwargs) -> User:
    org = OrganizationFactory(kind=Organization.Kind.SUPERVISION, name="市公共资源交易监督管理局")
    return UserFactory(role=User.Role.SUPERVISOR, organization=org, **kwargs)


def expert_user(**kwargs) -> User:
    return UserFactory(role=User.Role.EXPERT, organization=None, **kwargs)


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    code = factory.Sequence(lambda n: f"HZ-2026-{n:04d}")
    name = factory.Sequence(lambda n: f"市政道路改造工程{n}")
    owner_name = "杭州市城市建设投资集团"
    agency = factory.SubFactory(OrganizationFactory, kind=Organization.Kind.AGENCY)
    category = Project.Category.CONSTRUCTION
    funding = Project.Funding.STATE
    estimated_price = Decimal("10000000.00")
    created_by = factory.LazyAttribute(lambda o: UserFactory(role=User.Role.AGENCY, organization=o.agency))


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"第{n + 1}标段 施工")
    estimated_price = Decimal("10000000.00")
    deposit_amount = Decimal("200000.00")
    bid_deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    documents_from = factory.LazyFunction(timezone.now)
    documents_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=10))
    evaluation_method = Section.EvaluationMethod.COMPREHENSIVE
    announcement = "招标公告：本项目已具备招标条件，现进行公开招标。"
    opening_form_fields = factory.LazyFunction(
        lambda: [{"key": "price", "label": "投标报价", "type": "money"},
                 {"key": "duration_days", "label": "工期", "type": "integer"}])
    status = Section.Status.DRAFT


def published_section(**kwargs) -> Section:
    kwargs.setdefault("status", Section.Status.PUBLISHED)
    kwargs.setdefault("published_at", timezone.now())
    return SectionFactory(**kwargs)


def add_document(section: Section, user: User | None = None) -> TenderDocument:
    from trading.services.projects import document_add

    user = user or section.project.created_by
    return document_add(user=user, section_id=section.pk, name="招标文件.pdf", chunks=[b"%PDF-1.4 tender"])


def register(section: Section, user: User) -> Registration:
    return Registration.objects.create(section=section, organization=user.organization, registered_by=user)


def publish_section(*, deadline_days: float = 25, **kwargs) -> Section:
    """A section published through the real service, so it has its opening key."""
    from trading.services.lifecycle import section_publish

    now = timezone.now()
    kwargs.setdefault("documents_from", now)
    kwargs.setdefault("documents_until", now + timedelta(days=10))
    section = SectionFactory(bid_deadline=now + timedelta(days=deadline_days), **kwargs)
    add_document(section)
    return section_publish(user=section.project.created_by, section_id=section.pk, now=now)
