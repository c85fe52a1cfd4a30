from django.urls import path

from trading.complaints import views

urlpatterns = [
    path("complaints/", views.complaint_list, name="complaint_list"),
    path("complaints/new/<str:public_id>/", views.complaint_new, name="complaint_new"),
    path("complaints/<str:public_id>/", views.complaint_detail, name="complaint_detail"),
    path("complaints/<str:public_id>/evidence/<str:evidence_id>/", views.complaint_evidence,
         name="complaint_evidence"),
    path("complaints/<str:public_id>/<str:action>/", views.complaint_action, name="complaint_action"),
    path("portal/complaints/", views.portal_complaints, name="portal_complaints"),
]
