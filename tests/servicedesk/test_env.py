import pytest
from django.core.exceptions import ImproperlyConfigured

from servicedesk.env import email_settings, env_bool, env_int, env_list


def test_env_bool_accepts_common_spellings(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env_bool("X_FLAG", True) is False


def test_env_bool_fails_loudly_on_garbage(monkeypatch):
    monkeypatch.setenv("X_FLAG", "talvez")
    with pytest.raises(ImproperlyConfigured):
        env_bool("X_FLAG", False)


def test_env_int_fails_loudly_on_garbage(monkeypatch):
    monkeypatch.setenv("X_INT", "dez")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1)


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.com, b.com ,,")
    assert env_list("X_LIST", []) == ["a.com", "b.com"]


def test_email_url_smtp_with_tls_and_credentials():
    conf = email_settings("smtp://user%40x.com:s%3Acret@mail.example.com:2525?tls=1", "/tmp/mail")["default"]
    assert conf["BACKEND"].endswith("smtp.EmailBackend")
    options = conf["OPTIONS"]
    assert options["host"] == "mail.example.com"
    assert options["port"] == 2525
    assert options["username"] == "user@x.com"
    assert options["password"] == "s:cret"
    assert options["use_tls"] is True
    assert options["use_ssl"] is False


def test_email_url_empty_writes_files():
    conf = email_settings("", "/tmp/mail")["default"]
    assert conf["BACKEND"].endswith("filebased.EmailBackend")
    assert conf["OPTIONS"] == {"file_path": "/tmp/mail"}


def test_email_url_unknown_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured):
        email_settings("ftp://x", "/tmp/mail")
