from django.urls import path

from trading.deposits import api as views

urlpatterns = [
    path("sections/<str:section_id>/deposit", views.SectionDepositView.as_view(), name="api-deposit"),
    path("sections/<str:section_id>/deposits", views.SectionDepositsView.as_view(), name="api-section-deposits"),
    path("bank/notifications", views.BankNotificationView.as_view(), name="api-bank-notifications"),
    path("deposits/forfeitures", views.ForfeituresView.as_view(), name="api-forfeitures"),
    path("deposits/forfeitures/<str:forfeiture_id>/confirm",
         views.ForfeitureDecisionView.as_view(decision="confirm"), name="api-forfeiture-confirm"),
    path("deposits/forfeitures/<str:forfeiture_id>/reject",
         views.ForfeitureDecisionView.as_view(decision="reject"), name="api-forfeiture-reject"),
    path("deposits/alerts", views.AlertsView.as_view(), name="api-deposit-alerts"),
    path("deposits/reconciliation", views.ReconciliationView.as_view(), name="api-reconciliation"),
    path("deposits/reconciliation.csv", views.ReconciliationView.as_view(as_csv=True),
         name="api-reconciliation-csv"),
]
