from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import agency_user, bidder_user, published_section, supervisor_user

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def evidence(data: bytes = b"%PDF-1.4 evidence", name: str = "证据.pdf"):
    return [(name, [data])]


@pytest.fixture
def parties(db):
    agency = agency_user()
    section = published_section(project__agency=agency.organization, project__created_by=agency)
    return {"agency": agency, "section": section, "bidder": bidder_user(), "other": bidder_user(),
            "supervisor": supervisor_user()}


@pytest.fixture
def file_complaint(parties):
    from trading.complaints.services import complaint_file

    def make(*, now, known_at=None, matter="other", **kwargs):
        return complaint_file(user=kwargs.pop("user", parties["bidder"]), section_id=parties["section"].pk,
                              matter=matter, request="撤销中标候选人公示", facts="评标违反招标文件",
                              known_at=known_at or now, evidence=kwargs.pop("evidence", evidence()), now=now,
                              **kwargs)
    return make
