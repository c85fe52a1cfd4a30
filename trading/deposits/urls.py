from django.urls import path

from trading.deposits.views import (
    bidder_deposit,
    forfeiture_decide,
    reconciliation,
    section_deposits,
    supervision,
)

urlpatterns = [
    path("bidder/sections/<str:public_id>/deposit/", bidder_deposit, name="bidder_deposit"),
    path("sections/<str:public_id>/deposits/", section_deposits, name="section_deposits"),
    path("finance/deposits/reconciliation/", reconciliation, name="deposit_reconciliation"),
    path("supervisor/deposits/", supervision, name="deposit_supervision"),
    path("supervisor/deposits/forfeitures/<str:forfeiture_id>/confirm/", forfeiture_decide,
         {"decision": "confirm"}, name="forfeiture_confirm"),
    path("supervisor/deposits/forfeitures/<str:forfeiture_id>/reject/", forfeiture_decide,
         {"decision": "reject"}, name="forfeiture_reject"),
]
