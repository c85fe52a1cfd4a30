"""The demo bidders' key backups, offered to the bidder itself so that it can decrypt in the opening room."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.urls import path

from bidding.demo import backup_path, demo_bidders


def demo_backup_available(user) -> bool:
    return (user.is_authenticated and user.username in {u.username for u in demo_bidders()}
            and backup_path(user.username).exists())


@login_required
def demo_key_backup(request):
    """Only the demo bidder's own backup, and only where seed_demo wrote one."""
    if not demo_backup_available(request.user):
        raise Http404
    return FileResponse(backup_path(request.user.username).open("rb"), as_attachment=True,
                        filename=f"{request.user.username}-key-backup.json", content_type="application/json")


urlpatterns = [path("demo/key-backup/", demo_key_backup, name="demo_key_backup")]
