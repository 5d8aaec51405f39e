"""Sending email through `SMTP_URL`; without it, messages are written to the log instead."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)


@dataclass
class Mail:
    to: str
    subject: str
    body: str
    # Deterministic per reminder: if a crash forces a resend, mail systems can drop the duplicate.
    message_id: str
    html: str = ""  # an HTML alternative of `body`
    ical: str = ""  # an iMIP part (RFC 6047): a VCALENDAR with METHOD
    ical_method: str = "REQUEST"


class MailError(RuntimeError):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    ssl: bool
    starttls: bool | None  # None: use STARTTLS when the server offers it
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpSettings:
    """`smtp://user:pass@host:587`, `smtps://host` (TLS from the start); `?starttls=no|yes` to force."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise MailError("SMTP_URL must look like smtp://user:password@host:port or smtps://host")
    use_ssl = parts.scheme == "smtps"
    starttls = None
    option = parse_qs(parts.query).get("starttls", [None])[0]
    if option is not None:
        starttls = option.lower() in {"1", "yes", "true", "on"}
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if use_ssl else 25),
        ssl=use_ssl,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Mailer:
    """One SMTP connection for a batch of messages: `with Mailer(url, sender) as m: m.send(mail)`."""

    def __init__(self, smtp_url: str, sender: str, timeout: float = 30):
        self.settings = parse_smtp_url(smtp_url) if smtp_url else None
        self.sender = sender
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self.not_sent = 0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.ssl:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            smtp.ehlo()
            if s.starttls or (s.starttls is None and smtp.has_extn("starttls")):
                smtp.starttls(context=context)
                smtp.ehlo()
        if s.username:
            smtp.login(s.username, s.password or "")
        return smtp

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = mail.message_id
        message.set_content(mail.body)
        if mail.html:
            message.add_alternative(mail.html, subtype="html")
        if mail.ical:
            # Inside multipart/alternative, as Outlook and Gmail expect for an invitation.
            message.add_alternative(mail.ical, subtype="calendar", params={"method": mail.ical_method})
        if self.settings is None:
            # One line per batch at INFO (close()); a first start sends hundreds of demo reminders.
            self.not_sent += 1
            log.debug("SMTP_URL is not set; email not sent: To: %s, Subject: %s", mail.to, mail.subject)
            log.debug("body of the email not sent:\n%s", mail.body)
            return
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self.not_sent:
            log.info(
                "SMTP_URL is not set; %d email(s) not sent, logged instead (each one at LOG_LEVEL=DEBUG)", self.not_sent
            )
            self.not_sent = 0
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None
