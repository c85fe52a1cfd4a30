from django.urls import path

from timestamps.views import certs_pem_view, tsa_view
from timestamps.web import certificates_view, seal_ca_view, verify_view

urlpatterns = [
    path("tsa", tsa_view, name="tsa"),
    path("tsa/certs.pem", certs_pem_view, name="tsa-certs"),
    path("tsa/seal-ca.pem", seal_ca_view, name="seal-ca"),
    path("certificates/", certificates_view, name="certificates"),
    path("verify/", verify_view, name="verify"),
]
