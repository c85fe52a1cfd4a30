"""One selector per access question: the section lookup, the evaluation state and the collusion signals."""

import pytest
from django.utils import timezone

from experts.actions import EvaluationAction
from experts.selectors import evaluation_state_for
from tests.credit.test_collusion import CHROME, FIREFOX, committee_member, make_bid, opened_section
from tests.experts.test_experts_kit import (
    agency_of,
    drawable_section,
    fake_bids,
    opened,
    seat_committee,
)
from tests.factories import (
    SectionFactory,
    UserFactory,
    agency_user,
    bidder_user,
    expert_user,
    published_section,
    supervisor_user,
)
from trading.credit.selectors import collusion_signals_visible_to
from trading.credit.services.collusion import collusion_signals_compute
from trading.models import User
from trading.selectors import section_get_managed, section_get_visible
from trading.services.errors import NotFound, PermissionDenied

pytestmark = pytest.mark.django_db


class Anonymous:
    is_authenticated = False


def own_agency(section) -> User:
    return UserFactory(role=User.Role.AGENCY, organization=section.project.agency)


def test_a_draft_is_found_by_its_agency_and_supervisors_only():
    draft = SectionFactory()
    for user in (own_agency(draft), supervisor_user()):
        assert section_get_visible(user=user, public_id=draft.public_id) == draft
    for user in (Anonymous(), bidder_user(), agency_user(), expert_user()):
        with pytest.raises(NotFound):
            section_get_visible(user=user, public_id=draft.public_id)


def test_a_published_section_is_found_by_anyone_and_an_unknown_id_by_no_one():
    section = published_section()
    for user in (Anonymous(), bidder_user(), agency_user()):
        assert section_get_visible(user=user, public_id=section.public_id) == section
    with pytest.raises(NotFound):
        section_get_visible(user=supervisor_user(), public_id="nope")


def test_only_its_own_agency_manages_a_section():
    section = published_section()
    assert section_get_managed(user=own_agency(section), public_id=section.public_id) == section
    for user in (agency_user(), bidder_user(), supervisor_user()):
        with pytest.raises(NotFound):
            section_get_managed(user=user, public_id=section.public_id)


def test_a_draft_page_of_another_agency_is_a_404_not_a_500(client):
    draft = SectionFactory()
    client.force_login(agency_user())
    assert client.get(f"/sections/{draft.public_id}/").status_code == 404
    client.force_login(own_agency(draft))
    assert client.get(f"/sections/{draft.public_id}/").status_code == 200


def evaluating_section():
    section = drawable_section()
    picks = seat_committee(section)
    fake_bids(section, ["9800000", "9700000"])
    opened(section)
    from experts.services.evaluation import evaluation_start

    evaluation_start(user=agency_of(section), section_id=section.pk)
    return section, picks


def test_the_evaluation_state_is_for_the_committee_and_supervisors_only():
    section, picks = evaluating_section()
    state = evaluation_state_for(user=picks[0].expert.user, section=section)
    assert state["me"]["seat"] == picks[0].seat
    assert "me" not in evaluation_state_for(user=supervisor_user(), section=section)
    for user in (bidder_user(), agency_of(section), expert_user(), Anonymous()):
        with pytest.raises(PermissionDenied):
            evaluation_state_for(user=user, section=section)


def test_the_evaluation_state_before_the_start_is_not_found():
    section = drawable_section()
    with pytest.raises(NotFound):
        evaluation_state_for(user=supervisor_user(), section=section)


def test_a_committee_member_sees_its_sections_signals_but_not_the_whole_platforms():
    section, other = opened_section(), opened_section()
    for s in (section, other):
        make_bid(s, ip="203.0.113.7", ua=CHROME)
        make_bid(s, ip="203.0.113.7", ua=FIREFOX)
        collusion_signals_compute(section=s)
    member = committee_member(section)
    assert [s.section_id for s in collusion_signals_visible_to(user=member, section=section)] == [section.pk]
    with pytest.raises(PermissionDenied):
        collusion_signals_visible_to(user=member, section=other)
    with pytest.raises(PermissionDenied):
        collusion_signals_visible_to(user=member)
    assert collusion_signals_visible_to(user=supervisor_user()).count() == 2
    for user in (bidder_user(), agency_user(), Anonymous()):
        with pytest.raises(PermissionDenied):
            collusion_signals_visible_to(user=user, section=section)


def test_both_collusion_signal_paths_answer_one_shape_under_their_own_names(api):
    from django.urls import reverse

    from trading.models import ApiToken

    section = opened_section()
    make_bid(section, ip="203.0.113.7", ua=CHROME)
    make_bid(section, ip="203.0.113.7", ua=FIREFOX)
    collusion_signals_compute(section=section)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(supervisor_user())}"}
    one = api.get(reverse("api-collusion-signals", args=[section.public_id]), **auth).json()
    every = api.get(reverse("api-collusion-signals-all"), **auth).json()
    assert reverse("api-collusion-signals-all") == "/api/v1/deposits/collusion-signals"
    assert one == every and set(one[0]) >= {"id", "kind", "label", "section", "organizations", "evidence",
                                           "created_at"}
    member = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(committee_member(section))}"}
    assert api.get(reverse("api-collusion-signals", args=[section.public_id]), **member).status_code == 200
    assert api.get(reverse("api-collusion-signals-all"), **member).status_code == 403


def test_the_evaluation_vocabulary_accepts_the_pages_first_names():
    assert EvaluationAction.parse("declare") == EvaluationAction.parse("declaration") == "declaration"
    assert EvaluationAction.parse("vote") == "leader-vote" and EvaluationAction.parse("score") == "scores"
    with pytest.raises(NotFound):
        EvaluationAction.parse("delete")


@pytest.mark.parametrize("name", ["declaration", "declare"])
def test_the_room_page_declares_under_the_one_name_and_the_old_one(client, name):
    section, picks = evaluating_section()
    member = picks[0]
    client.force_login(member.expert.user)
    response = client.post(f"/expert/evaluations/{section.public_id}/", {"action": name, "conflict": "no"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.declared_at is not None and member.declared_at <= timezone.now()
