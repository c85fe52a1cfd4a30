"""Role guards for the server-rendered pages: anonymous users log in, other roles get a 403 page."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def role_required(*roles: str):
    """Let through only an active user with one of ``roles``; anonymous users are sent to log in."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.has_role(*roles):
                raise PermissionDenied(_("This page is not available to your role."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
