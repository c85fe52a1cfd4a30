"""Included under ``api/v1/``: OCDS open data and the published ledger anchors."""

from django.urls import path

from trading.portal import api as ocds
from trading.portal.anchors import LedgerAnchorsView

urlpatterns = [
    path("ledger/anchors", LedgerAnchorsView.as_view(), name="api-ledger-anchors"),
    path("ocds/sections/<str:section_id>/release-package", ocds.SectionReleasePackageView.as_view(),
         name="api-ocds-section"),
    path("ocds/release-packages", ocds.BulkReleasePackageView.as_view(), name="api-ocds-bulk"),
]
