"""The experts API under /api/v1/ (include with ``path("api/v1/", include("experts.urls"))``)."""

from django.urls import path

from experts import api

urlpatterns = [
    path("experts/", api.ExpertListView.as_view(), name="api-experts"),
    path("experts/import", api.ExpertImportView.as_view(), name="api-experts-import"),
    path("experts/<str:code>", api.ExpertDetailView.as_view(), name="api-expert"),
    path("experts/<str:code>/status", api.ExpertStatusView.as_view(), name="api-expert-status"),
    path("experts/<str:code>/invite", api.ExpertInviteView.as_view(), name="api-expert-invite"),
    path("experts/<str:code>/unavailability", api.ExpertUnavailableView.as_view(), name="api-expert-unavailable"),
    path("draws/", api.DrawListView.as_view(), name="api-draws"),
    path("draws/<str:draw_id>", api.DrawDetailView.as_view(), name="api-draw"),
    path("draws/<str:draw_id>/audit", api.DrawAuditView.as_view(), name="api-draw-audit"),
    path("draws/<str:draw_id>/replay", api.DrawReplayView.as_view(), name="api-draw-replay"),
    path("draws/<str:draw_id>/entropy", api.DrawEntropyView.as_view(), name="api-draw-entropy"),
    path("picks/<str:pick_id>/phone/<str:answer>", api.PickPhoneAnswerView.as_view(), name="api-pick-phone"),
    path("sections/<str:section_id>/draws", api.SectionDrawsView.as_view(), name="api-section-draws"),
    path("expert/invitations", api.InvitationsView.as_view(), name="api-invitations"),
    path("expert/invitations/<str:pick_id>/<str:answer>", api.InvitationAnswerView.as_view(),
         name="api-invitation-answer"),
    path("sections/<str:section_id>/evaluation", api.EvaluationView.as_view(), name="api-evaluation"),
    path("sections/<str:section_id>/evaluation/report.pdf", api.ReportPdfView.as_view(), name="api-report-pdf"),
    path("sections/<str:section_id>/evaluation/bids/<str:bid_id>/documents", api.BidDocumentsView.as_view(),
         name="api-evaluation-documents"),
    path("sections/<str:section_id>/evaluation/<str:action>", api.EvaluationActionView.as_view(),
         name="api-evaluation-action"),
    path("sections/<str:section_id>/publicity", api.PublicityView.as_view(), name="api-publicity"),
    path("sections/<str:section_id>/publicity/objections", api.PublicityObjectionView.as_view(),
         name="api-publicity-objections"),
    path("publicity-objections/<str:objection_id>/answer", api.PublicityAnswerView.as_view(),
         name="api-publicity-answer"),
    path("sections/<str:section_id>/award", api.AwardView.as_view(), name="api-award"),
    path("sections/<str:section_id>/award/notice.pdf", api.AwardNoticeView.as_view(), name="api-award-notice"),
    path("sections/<str:section_id>/contract", api.ContractView.as_view(), name="api-contract"),
]
