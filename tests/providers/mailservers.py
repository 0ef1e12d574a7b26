"""Real mail servers on 127.0.0.1 for the e-mail channel's tests (no mocks).

* SMTP: aiosmtpd in a thread; every accepted e-mail is recorded, parsed; ``fail_next``
  answers the next DATA commands with a given reply (``"451 4.3.0 Tente mais tarde"``,
  ``"554 5.7.1 Recusado"``).
* IMAP: Dovecot from Debian's ``dovecot-imapd``, started with a minimal configuration in a
  temporary folder (no SSL, users in a passwd-file, Maildir), as the current user, or as
  Debian's dovecot/dovenull users when the tests run as root (Dovecot refuses root for its
  login processes). Messages are delivered with IMAP APPEND.

Without Dovecot the IMAP tests are skipped with the reason, except with ``CI=true``, where
they fail (``.ci/run`` installs ``dovecot-imapd`` when it is missing). The fixtures live in
the test modules (``smtp_server``, ``dovecot_server``, ``mailbox``).
"""

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from itertools import count
from pathlib import Path

import pytest


def raw_email(
    *,
    sender="Maria Souza <Maria.Souza@Example.com>",
    subject="Sem internet desde ontem",
    text="Olá, estou sem conexão. Ação necessária!",
    html=None,
    msgid=None,
    in_reply_to=None,
    references=None,
    attachments=(),
) -> bytes:
    """An RFC 5322 e-mail as a customer's mail program would send it."""
    from django.utils import timezone

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "suporte@provedor.test"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = msgid or make_msgid(domain="example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    for name, content, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


DOVECOT_HINT = "Dovecot (apt-get install dovecot-imapd)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(binary: str, hint: str) -> str:
    """The binary's path; a missing one skips the test, or fails it under CI=true."""
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if os.access(f"/usr/sbin/{binary}", os.X_OK) else None)
    if path:
        return path
    reason = f"service missing: {hint}"
    if _in_ci():
        pytest.fail(f"CI=true but {reason}; this test must not be skipped in CI", pytrace=False)
    pytest.skip(f"{reason}; skipped outside CI")


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)


@dataclass
class SmtpServer:
    received: list[Received] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    port: int = 0
    controller: object = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.failures:
            return self.failures.pop(0)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 2.0.0 OK"

    def fail_next(self, reply: str, times: int = 1) -> None:
        self.failures.extend([reply] * times)

    def wait_for(self, n: int = 1, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- IMAP (Dovecot) -------------------------------------------------------------------------------


CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """One Dovecot for the test session; each test gets its own mailbox user."""

    USERS = 100
    PASSWORD = "senha-imap-123"

    def __init__(self, binary: str) -> None:
        self._users = count(1)
        self.binary = binary
        self.port = free_port()
        # Not under pytest's tmp_path: its parent is private (0700) and Dovecot's own users
        # must reach the folder; short, because Dovecot's unix sockets live under it.
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        os.chmod(self.root, 0o755)  # noqa: S103 - Dovecot's own users must traverse it
        if os.geteuid() == 0:
            self.internal_user, self.login_user = "dovecot", "dovenull"
        else:
            self.internal_user = self.login_user = pwd.getpwuid(os.geteuid()).pw_name
        entry = pwd.getpwnam(self.internal_user)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.process: subprocess.Popen | None = None

    def start(self) -> "Dovecot":
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir()
        for sub in ("mail", "home"):
            os.chown(self.root / sub, self.uid, self.gid)
        # Every mailbox user up front: Dovecot may not notice a passwd-file changed within a second.
        (self.root / "passwd").write_text(
            "".join(
                f"caixa{n}@provedor.test:{{PLAIN}}{self.PASSWORD}:{self.uid}:{self.gid}::{self.root}/home/caixa{n}::\n"
                for n in range(1, self.USERS + 1)
            )
        )
        conf = self.root / "dovecot.conf"
        conf.write_text(
            CONF.format(
                root=self.root,
                port=self.port,
                internal_user=self.internal_user,
                internal_group=grp.getgrgid(self.gid).gr_name,
                login_user=self.login_user,
            )
        )
        self.process = subprocess.Popen(  # noqa: S603 - the test's own dovecot binary
            [self.binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()} {self.log()}")
            try:
                conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=2)
                conn.logout()
                return self
            except OSError:
                time.sleep(0.1)
            except imaplib.IMAP4.abort:
                time.sleep(0.2)  # imap-login starting up
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def add_user(self) -> tuple[str, str]:
        n = next(self._users)
        if n > self.USERS:
            raise RuntimeError("Dovecot fixture: raise Dovecot.USERS")
        return f"caixa{n}@provedor.test", self.PASSWORD

    def connect(self, user: str, password: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=5)
        conn.login(user, password)
        return conn

    def deliver(self, user: str, password: str, raw: bytes, folder: str = "INBOX") -> None:
        conn = self.connect(user, password)
        try:
            typ, data = conn.append(folder, None, imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def recreate_folder(self, user: str, password: str, folder: str = "Suporte") -> None:
        """Delete and create a folder: Dovecot gives it a new UIDVALIDITY."""
        conn = self.connect(user, password)
        try:
            conn.delete(folder)
            conn.create(folder)
        finally:
            conn.logout()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot() -> Dovecot:
    """Dovecot for a session-scoped fixture (skips, or fails in CI, when it is not installed)."""
    return Dovecot(require("dovecot", DOVECOT_HINT)).start()
