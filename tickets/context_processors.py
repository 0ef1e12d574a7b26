from django.http import HttpRequest

from tickets.roles import is_admin, is_supervisor, role_label


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_role": role_label(user),
        "nav_is_supervisor": is_supervisor(user),
        "nav_is_admin": is_admin(user),
    }
