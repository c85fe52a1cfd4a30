from django.urls import path

from trading.archives.views import archive_download

urlpatterns = [
    path("sections/<str:public_id>/archive.zip", archive_download, name="archive_download"),
]
