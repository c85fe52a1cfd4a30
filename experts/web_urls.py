"""The experts pages (include with ``path("", include("experts.web_urls"))``)."""

from django.urls import path

from experts import web

urlpatterns = [
    path("supervisor/experts/", web.expert_pool, name="expert_pool"),
    path("supervisor/draws/", web.draw_list, name="draw_list"),
    path("supervisor/draws/<str:draw_id>/", web.draw_detail, name="draw_detail"),
    path("agency/sections/<str:public_id>/experts/", web.section_experts, name="section_experts"),
    path("expert/", web.expert_home, name="expert_home"),
    path("expert/activate/<str:token>/", web.expert_activate, name="expert_activate"),
    path("expert/evaluations/<str:public_id>/", web.evaluation_room, name="evaluation_room"),
    path("expert/evaluations/<str:public_id>/bids/<str:bid_id>/documents/", web.evaluation_document,
         name="evaluation_document"),
    path("evaluations/<str:public_id>/report.pdf", web.evaluation_report, name="evaluation_report"),
]
