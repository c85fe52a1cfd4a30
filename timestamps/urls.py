from django.urls import path

from timestamps.views import certs_pem_view, tsa_view

urlpatterns = [
    path("tsa", tsa_view, name="tsa"),
    path("tsa/certs.pem", certs_pem_view, name="tsa-certs"),
]
