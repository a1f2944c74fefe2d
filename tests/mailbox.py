"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for mail tests."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import time
from email.message import EmailMessage

import pytest


class Mailbox:
    """The messages the loopback SMTP server received, oldest first."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        """Keep one delivered message."""
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 10.0) -> EmailMessage:
        """The newest message to ``to``, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if message["To"] == to:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} within {timeout} s")

    def link(self, to: str, path_part: str) -> str:
        """The URL in the newest mail to ``to`` whose path contains ``path_part``."""
        body = self.wait_for(to).get_content()
        for url in re.findall(r"https?://\S+", body):
            if path_part in url:
                return url
        raise AssertionError(f"no {path_part} link in: {body}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox(app):
    """Start an SMTP server on loopback and point the app's mail settings at it."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                        MAIL_SECURITY="none", MAIL_FROM="Daydream <noreply@daydream.test>")
    yield box
    controller.stop()
