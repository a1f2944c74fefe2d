"""Outgoing mail: through the configured SMTP server, or into the server log without one.

With no ``DAYDREAM_MAIL_SERVER`` the whole message (links included) is written to the log,
so a laptop install needs no mail server and its operator can still follow the links.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


def compose(to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from the configured sender."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="daydream.local")
    message.set_content(body)
    return message


def send(to: str, subject: str, body: str) -> None:
    """Send one message; MailError if the SMTP server fails (the log keeps the reason)."""
    cfg = current_app.config
    message = compose(to, subject, body)
    if not cfg.get("MAIL_SERVER"):
        current_app.logger.warning(
            "No DAYDREAM_MAIL_SERVER is set; this mail was not sent:\nTo: %s\nSubject: %s\n\n%s",
            to, subject, body)
        return
    try:
        _deliver(message)
    except (OSError, smtplib.SMTPException) as error:
        current_app.logger.error("Could not send mail to %s via %s: %s", to,
                                 cfg["MAIL_SERVER"], error)
        raise MailError("The mail server did not accept the message.") from error


def _deliver(message: EmailMessage) -> None:
    cfg = current_app.config
    host, port, timeout = cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg["MAIL_TIMEOUT"]
    if cfg["MAIL_SECURITY"] == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if cfg["MAIL_SECURITY"] == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
