"""Which world object fills each URL parameter, by parameter name, and where a URL needs another object."""

FILL_DEFAULT = {
    "section_id": "published", "public_id": "published", "project_id": "project", "document_id": "document",
    "objection_id": "objection", "bid_id": "bid", "upload_id": "upload", "draw_id": "draw", "pick_id": "pick",
    "code": "expert_code", "record_id": "record", "appeal_id": "appeal", "alert_id": "alert",
    "follow_up_id": "follow_up", "forfeiture_id": "forfeiture", "complaint_id": "complaint",
    "evidence_id": "evidence", "token": "activation_token",
}
LITERAL = {"index": "0", "answer": "confirm", "action": "declaration"}
# A URL about a later stage is filled with agency A's evaluated and publicized section; a draft's with the draft.
EVALUATED = {"section_id": "evaluated", "public_id": "evaluated"}
FILL_OVERRIDE = {
    "section_edit": {"public_id": "draft"}, "section_publish": {"public_id": "draft"},
    "api-section-publish": {"section_id": "draft"},
    **{name: EVALUATED for name in (
        "api-opening", "api-opening-record", "portal_opening", "portal_rate", "api-section-ratings",
        "api-collusion-signals", "supervision_signals", "api-section-draws", "section_experts", "api-evaluation",
        "api-report-pdf", "api-evaluation-action", "api-publicity", "api-publicity-objections", "api-award",
        "api-award-notice", "api-contract", "evaluation_room", "evaluation_report", "api-ocds-section",
        "archive_download")},
    "api-evaluation-documents": {**EVALUATED, "bid_id": "evaluated_bid"},
    "evaluation_document": {**EVALUATED, "bid_id": "evaluated_bid"},
    "api-publicity-answer": {"objection_id": "publicity_objection"},
    # A complaint's pages take bidder A's complaint; an action is one the supervisors take (accept).
    **{name: {"public_id": "complaint"} for name in ("complaint_detail", "complaint_evidence")},
    "complaint_action": {"public_id": "complaint", "action": "complaint_action"},
    "api-expert-invite": {"code": "expert_invitee"},
}
