"""Included under ``api/v1/``: the blacklist and credit records, appeals, collusion signals, alerts, ratings."""

from django.urls import path

from trading.credit import api as credit

urlpatterns = [
    path("credit/blacklist", credit.BlacklistView.as_view(), name="api-blacklist"),
    path("credit/records/<str:record_id>", credit.RecordView.as_view(), name="api-credit-record"),
    path("credit/records/<str:record_id>/document", credit.RecordDocumentView.as_view(),
         name="api-credit-record-document"),
    path("credit/records/<str:record_id>/appeals", credit.RecordAppealsView.as_view(), name="api-credit-appeal"),
    path("credit/appeals", credit.AppealListView.as_view(), name="api-credit-appeals"),
    path("credit/appeals/<str:appeal_id>/decision", credit.AppealDecisionView.as_view(),
         name="api-credit-appeal-decision"),
    path("sections/<str:section_id>/collusion-signals", credit.CollusionSignalsView.as_view(),
         name="api-collusion-signals"),
    path("deposits/collusion-signals", credit.CollusionSignalsView.as_view(), name="api-collusion-signals-all"),
    path("sections/<str:section_id>/ratings", credit.SectionRatingsView.as_view(), name="api-section-ratings"),
    path("supervision/alerts", credit.AlertListView.as_view(), name="api-supervision-alerts"),
    path("supervision/alerts/<str:alert_id>/acknowledge", credit.AlertAcknowledgeView.as_view(),
         name="api-supervision-alert-ack"),
    path("supervision/ratings", credit.RatingListView.as_view(), name="api-supervision-ratings"),
    path("supervision/follow-ups/<str:follow_up_id>/close", credit.FollowUpCloseView.as_view(),
         name="api-supervision-follow-up-close"),
]
