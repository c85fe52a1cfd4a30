from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog, set_language

from trading.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("timestamps.urls")),
    path("api/v1/", include("trading.api.urls")),
    path("api/v1/", include("trading.deposits.api_urls")),
    path("api/v1/", include("bidding.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # The admin's own login has no second step and no lockout page: it goes through ours.
    path("django-admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("django-admin/", admin.site.urls),
    path("", include("bidding.web_urls")),
    path("", include("trading.deposits.urls")),
    path("api/v1/", include("trading.credit.api_urls")),
    path("api/v1/", include("trading.portal.api_urls")),
    path("", include("trading.portal.urls")),
    path("api/v1/", include("experts.urls")),
    path("", include("experts.web_urls")),
    path("", include("trading.web.urls")),
    path("", include("trading.supervision.urls")),
    path("", include("trading.complaints.urls")),
    path("api/v1/", include("trading.complaints.api_urls")),
    path("", include("trading.archives.urls")),
]
