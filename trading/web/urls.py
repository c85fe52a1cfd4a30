from django.urls import path

from trading.web import accounts, agency, bidder, views

urlpatterns = [
    path("", views.home, name="home"),
    path("sections/<str:public_id>/", views.section_detail, name="section_detail"),
    path(
        "sections/<str:public_id>/documents/<str:document_id>/",
        views.document_download,
        name="document_download",
    ),
    path("sections/<str:public_id>/sign-up/", views.section_sign_up, name="section_sign_up"),
    path("sections/<str:public_id>/questions/", views.question_ask, name="question_ask"),
    path("sections/<str:public_id>/objections/", views.objection_submit, name="objection_submit"),
    path("accounts/login/", accounts.login, name="login"),
    path("accounts/login/verify/", accounts.login_verify, name="login_verify"),
    path("accounts/logout/", accounts.logout, name="logout"),
    path("accounts/signup/", accounts.bidder_signup, name="bidder_signup"),
    path("accounts/security/", accounts.security, name="security"),
    path("accounts/password/", accounts.password_change, name="password_change"),
    path("accounts/tokens/", accounts.tokens, name="api_tokens"),
    path("workspace/", views.workspace, name="workspace"),
    path("agency/", agency.agency_workspace, name="agency_workspace"),
    path("agency/projects/new/", agency.project_create, name="project_create"),
    path(
        "agency/projects/<str:project_id>/sections/new/",
        agency.section_create,
        name="section_create",
    ),
    path("agency/sections/<str:public_id>/", agency.agency_section, name="agency_section"),
    path("agency/sections/<str:public_id>/edit/", agency.section_edit, name="section_edit"),
    path(
        "agency/sections/<str:public_id>/documents/", agency.document_upload, name="document_upload"
    ),
    path(
        "agency/sections/<str:public_id>/publish/", agency.section_publish, name="section_publish"
    ),
    path(
        "agency/sections/<str:public_id>/clarifications/",
        agency.clarification_publish,
        name="clarification_publish",
    ),
    path("agency/sections/<str:public_id>/cancel/", agency.section_cancel, name="section_cancel"),
    path(
        "agency/objections/<str:objection_id>/answer/",
        agency.objection_answer,
        name="objection_answer",
    ),
    path("bidder/", bidder.bidder_workspace, name="bidder_workspace"),
]
