"""E-mail through the seller's SMTP server: `SMTP_URL` (smtp://user:pass@host:587 with STARTTLS,
smtps://…:465 for implicit TLS) and `SMTP_FROM`. Used by the outbox handlers (alerts by e-mail,
purchase orders to suppliers); nothing here decides what to send."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Iterable, Optional
from urllib.parse import unquote, urlsplit

from bot.config import ConfigError, Settings
from bot.notifier import NotifyError

SMTP_TIMEOUT = 20  # seconds per connection step: a hung server becomes a retry, not a stuck sender


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    username: str = ""
    password: str = ""

    def __repr__(self) -> str:  # never the password
        return f"SmtpConfig(host={self.host!r}, port={self.port}, implicit_tls={self.implicit_tls})"


def smtp_config(url: str) -> SmtpConfig:
    """Parse SMTP_URL; a clear ConfigError (naming the variable, never the password) when unusable."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError("SMTP_URL must look like smtp://user:password@host:587 (STARTTLS) or "
                          "smtps://user:password@host:465 (TLS)")
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 587)
    except ValueError:
        raise ConfigError("SMTP_URL has a port that is not a number") from None
    return SmtpConfig(parts.hostname, port, implicit, unquote(parts.username or ""), unquote(parts.password or ""))


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def build_message(sender: str, to: str, subject: str, text: str, html: Optional[str] = None,
                  attachments: Iterable[Attachment] = (), idempotency_key: Optional[str] = None) -> EmailMessage:
    """A plain-text message with an HTML alternative and attachments. `idempotency_key` becomes
    part of the Message-ID, so a mail server or reader can tell a resend from a new message."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=idempotency_key, domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        main, _, sub = attachment.mimetype.partition("/")
        message.add_attachment(attachment.content, maintype=main, subtype=sub or "octet-stream",
                               filename=attachment.filename)
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Deliver one message. NotifyError("final_…") when the server refuses it for good (a bad
    address), NotifyError("smtp_…") when it may work later; network errors propagate (unknown outcome)."""
    if not settings.smtp_url or not settings.smtp_from:
        raise NotifyError("final_smtp_not_configured")
    config = smtp_config(settings.smtp_url)
    context = ssl.create_default_context()
    try:
        if config.implicit_tls:
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT)
        with client:
            if not config.implicit_tls:
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
            if config.username:
                client.login(config.username, config.password)
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise NotifyError("final_smtp_recipient_refused") from None
    except smtplib.SMTPAuthenticationError:
        raise NotifyError("smtp_auth_failed") from None  # fixable in config: keep it owed
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
        raise NotifyError(f"final_smtp_{code}" if 500 <= code < 600 else f"smtp_{code}") from None
