"""URLconf for the experts tests: the project's URLs plus the experts API and pages (until the lead includes them)."""

from django.urls import include, path

from trading.config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/v1/", include("experts.urls")),
    path("", include("experts.web_urls")),
    *project_urlpatterns,
]
