"""Test-only URLs: an API view and a page that run whatever database or cache work a test hands them."""

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

WORK: dict = {}


class WorkView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def post(self, request):
        WORK["run"]()
        return Response({"ok": True})


def work_page(request):
    WORK["run"]()
    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/test-work", WorkView.as_view()),
    path("test-work", work_page),
]
