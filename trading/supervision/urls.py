"""The supervision console. The old paths of the second console (``supervisor/``, ``supervisor/ledger/``) keep
their names and render the same pages."""

from django.urls import path

from trading.supervision import views

urlpatterns = [
    path("supervision/", views.supervision_dashboard, name="supervision_dashboard"),
    path("supervisor/", views.supervision_dashboard, name="supervisor_overview"),
    path("supervision/ledger/verify/", views.ledger_check, name="supervision_ledger_verify"),
    path("supervisor/ledger/", views.ledger_check, name="ledger_check"),
    path("supervision/alerts/<str:alert_id>/", views.supervision_alert, name="supervision_alert"),
    path("supervision/sections/<str:public_id>/signals/", views.supervision_signals, name="supervision_signals"),
    path("supervision/sections/<str:public_id>/break-glass/", views.supervision_break_glass,
         name="supervision_break_glass"),
    path("supervision/credit/new/", views.supervision_record_new, name="supervision_record_new"),
    path("supervision/appeals/<str:appeal_id>/decide/", views.supervision_appeal_decide,
         name="supervision_appeal_decide"),
    path("supervision/follow-ups/<str:follow_up_id>/close/", views.supervision_follow_up_close,
         name="supervision_follow_up_close"),
]
