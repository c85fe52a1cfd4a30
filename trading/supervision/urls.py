from django.urls import path

from trading.supervision import views

urlpatterns = [
    path("supervisor/", views.supervisor_overview, name="supervisor_overview"),
    path("supervisor/ledger/", views.ledger_check, name="ledger_check"),
]
