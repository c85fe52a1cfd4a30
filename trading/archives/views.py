from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from trading.archives.selectors import archive_get_downloadable
from trading.files import open_stored
from trading.services.errors import NotFound


@login_required
def archive_download(request, public_id: str):
    """电子档案 download, for the section's agency and the supervisors."""
    try:
        archive = archive_get_downloadable(user=request.user, public_id=public_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return FileResponse(open_stored(archive.storage_path), as_attachment=True,
                        filename=f"{archive.section.public_id}-archive.zip", content_type="application/zip")
