"""Small helpers that read settings from environment variables and fail loudly."""

import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def email_settings(url: str, file_path: str) -> dict[str, object]:
    """Translate EMAIL_URL (smtp://user:pass@host:port?tls=1, or empty) into Django's MAILERS."""
    if not url:
        return _mailer("django.core.mail.backends.filebased.EmailBackend", file_path=file_path)
    parsed = urlparse(url)
    if parsed.scheme == "console":
        return _mailer("django.core.mail.backends.console.EmailBackend")
    if parsed.scheme == "file":
        return _mailer("django.core.mail.backends.filebased.EmailBackend", file_path=parsed.path or file_path)
    if parsed.scheme not in {"smtp", "smtps", "submission"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme must be smtp, smtps, submission, console or file, got {parsed.scheme!r}"
        )
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    use_ssl = parsed.scheme == "smtps" or query.get("ssl") in _TRUE
    use_tls = (parsed.scheme == "submission" or query.get("tls") in _TRUE) and not use_ssl
    default_port = 465 if use_ssl else 587 if use_tls else 25
    return _mailer(
        "django.core.mail.backends.smtp.EmailBackend",
        host=parsed.hostname or "localhost",
        port=parsed.port or default_port,
        username=unquote(parsed.username or ""),
        password=unquote(parsed.password or ""),
        use_ssl=use_ssl,
        use_tls=use_tls,
        timeout=int(query.get("timeout", "10")),
    )


def _mailer(backend: str, **options: object) -> dict[str, object]:
    return {"default": {"BACKEND": backend, "OPTIONS": options}}
