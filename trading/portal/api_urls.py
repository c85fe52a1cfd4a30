"""Included under ``api/v1/``: OCDS open data."""

from django.urls import path

from trading.portal import api as ocds

urlpatterns = [
    path("ocds/sections/<str:section_id>/release-package", ocds.SectionReleasePackageView.as_view(),
         name="api-ocds-section"),
    path("ocds/release-packages", ocds.BulkReleasePackageView.as_view(), name="api-ocds-bulk"),
]
