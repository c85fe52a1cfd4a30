"""Included under ``api/v1/``: complaints (投诉) and their published decisions."""

from django.urls import path

from trading.complaints import api

urlpatterns = [
    path("complaints", api.ComplaintListView.as_view(), name="api-complaints"),
    path("complaints/decisions", api.DecisionListView.as_view(), name="api-complaint-decisions"),
    path("complaints/<str:complaint_id>", api.ComplaintView.as_view(), name="api-complaint"),
]
