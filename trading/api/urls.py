from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from trading.api import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token", views.TokenView.as_view(), name="api-token"),
    path("auth/logout", views.LogoutView.as_view(), name="api-logout"),
    path("me", views.MeView.as_view(), name="api-me"),
    path("organizations", views.BidderSignupView.as_view(), name="api-bidder-signup"),
    path("notifications", views.NotificationsView.as_view(), name="api-notifications"),
    path("projects/", views.ProjectListView.as_view(), name="api-projects"),
    path("projects/<str:project_id>", views.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<str:project_id>/sections", views.ProjectSectionsView.as_view(), name="api-project-sections"),
    path("sections/", views.SectionListView.as_view(), name="api-sections"),
    path("sections/<str:section_id>", views.SectionDetailView.as_view(), name="api-section"),
    path("sections/<str:section_id>/publish", views.SectionPublishView.as_view(), name="api-section-publish"),
    path("sections/<str:section_id>/cancel", views.SectionCancelView.as_view(), name="api-section-cancel"),
    path("sections/<str:section_id>/registrations", views.RegistrationView.as_view(), name="api-registrations"),
    path("sections/<str:section_id>/documents", views.DocumentListView.as_view(), name="api-documents"),
    path("sections/<str:section_id>/documents/<str:document_id>", views.DocumentDownloadView.as_view(),
         name="api-document"),
    path("sections/<str:section_id>/questions", views.QuestionsView.as_view(), name="api-questions"),
    path("sections/<str:section_id>/clarifications", views.ClarificationsView.as_view(),
         name="api-clarifications"),
    path("sections/<str:section_id>/objections", views.ObjectionsView.as_view(), name="api-objections"),
    path("objections/<str:objection_id>/answer", views.ObjectionAnswerView.as_view(), name="api-objection-answer"),
]
