"""专家通知: how a message reaches an expert, chosen by EXPERT_NOTIFIER.

The SMS gateway of a real deployment cannot run here: `console` (the log) and `file` (one JSON line per message
in EXPERT_NOTIFIER_FILE) stand in for it and show what would be sent; `smtp` sends e-mail through Django's
e-mail backend. A gateway is one more class with `send(message)`, named in BACKENDS.
"""

import json
import logging
from dataclasses import asdict, dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from experts.services.errors import ExpertError

log = logging.getLogger("experts.notify")


@dataclass(frozen=True)
class ExpertMessage:
    expert_code: str
    phone: str
    email: str
    subject: str
    body: str


class Notifier(Protocol):
    def send(self, message: ExpertMessage) -> None: ...


class ConsoleNotifier:
    """The SMS stand-in for development: the message goes to the log."""

    def send(self, message: ExpertMessage) -> None:
        log.info("SMS to %s (%s): %s", message.phone or "-", message.expert_code, message.body)


class FileNotifier:
    """The SMS stand-in for demos and tests: each message is appended to EXPERT_NOTIFIER_FILE as a JSON line."""

    def send(self, message: ExpertMessage) -> None:
        path = settings.EXPERT_NOTIFIER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"channel": "sms", **asdict(message)}, ensure_ascii=False) + "\n")


class EmailNotifier:
    """E-mail through Django's e-mail backend (EMAIL_HOST, EMAIL_PORT, DEFAULT_FROM_EMAIL)."""

    def send(self, message: ExpertMessage) -> None:
        if not message.email:
            raise ExpertError(f"expert {message.expert_code} has no e-mail address", code="no_email")
        send_mail(message.subject, message.body, None, [message.email])


BACKENDS: dict[str, type] = {"console": ConsoleNotifier, "file": FileNotifier, "smtp": EmailNotifier}


def notifier() -> Notifier:
    try:
        return BACKENDS[settings.EXPERT_NOTIFIER]()
    except KeyError:
        raise ExpertError(f"EXPERT_NOTIFIER must be one of {', '.join(BACKENDS)}", code="notifier") from None


def expert_notify(*, expert, subject: str, body: str) -> None:
    notifier().send(ExpertMessage(expert_code=expert.code, phone=expert.phone, email=expert.email,
                                  subject=subject, body=body))


def expert_notify_on_commit(*, expert, subject: str, body: str) -> None:
    """Send once the transaction commits; a failing gateway is logged, it does not undo the draw."""
    message = ExpertMessage(expert_code=expert.code, phone=expert.phone, email=expert.email, subject=subject,
                            body=body)

    def send() -> None:
        try:
            notifier().send(message)
        except Exception:  # the call by platform staff is the fallback; the log shows what did not go out
            log.exception("notifying expert %s failed", message.expert_code)

    transaction.on_commit(send)
