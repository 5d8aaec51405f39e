"""Delivery channels of the notification sender: email (SMTP), SMS (a provider), team chat (apprise)."""

from __future__ import annotations

import json
import logging
import urllib.request
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# Group-chat robots Chinese teams use, plus generic JSON webhooks (apprise URL schemes).
CHAT_SCHEMES = {"wecombot", "dingtalk", "feishu", "lark", "json", "jsons"}


class DeliveryError(RuntimeError):
    pass


class SmsProvider:
    """Send one short text to one phone number; raise DeliveryError on failure."""

    def send(self, phone: str, text: str, reference: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class LogSms(SmsProvider):
    """The default without SMS_URL: the message is only logged."""

    def send(self, phone: str, text: str, reference: str) -> None:
        log.info("SMS_URL is not set; SMS not sent: to %s: %s", phone, text[:70])


class HttpSms(SmsProvider):
    """A gateway taking a JSON POST {"to", "text", "reference"} at `url`; any 2xx is success."""

    def __init__(self, url: str, timeout: float = 10):
        if urlsplit(url).scheme not in {"http", "https"}:
            raise DeliveryError("SMS_URL must be an http(s) URL")
        self.url = url
        self.timeout = timeout

    def send(self, phone: str, text: str, reference: str) -> None:
        body = json.dumps({"to": phone, "text": text, "reference": reference}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                response.read()
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise DeliveryError(f"SMS gateway: {exc}") from exc


def sms_provider(config) -> SmsProvider:
    url = config.get("SMS_URL", "")
    return HttpSms(url) if url else LogSms()


def valid_chat_url(url: str) -> bool:
    """An apprise URL of a group robot that apprise itself accepts."""
    import apprise

    if urlsplit(url).scheme.lower() not in CHAT_SCHEMES:
        return False
    return apprise.Apprise().add(url)


def send_chat(url: str, title: str, body: str) -> None:
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        raise DeliveryError("team chat webhook URL is not valid")
    if not sender.notify(title=title, body=body):
        raise DeliveryError("team chat webhook refused the message")
