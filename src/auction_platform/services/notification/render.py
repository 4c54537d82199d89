"""Notices rendered from the templates in ``templates/``: email (text and HTML) and SMS.

Every kind has ``email/<kind>.txt`` (which also sets the ``subject``),
``email/<kind>.html`` (autoescaped) and ``sms/<kind>.txt``. Templates read the
notice's values plus ``display_name``, and may call ``money``, ``when``,
``short_when`` and ``minutes`` (see ``formatting``) and ``link(*parts)``, which
builds an address on the public site from ``PUBLIC_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from auction_platform.services.notification import formatting

_SMS_LIMIT = 320  # two SMS segments; a longer text is cut, never split into many


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """An email ready to send: subject, plain text and HTML alternatives."""

    subject: str
    text: str
    html: str


class Templates:
    """The product copy of every notice, in one place."""

    def __init__(self, *, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self._env = Environment(
            loader=PackageLoader("auction_platform.services.notification", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # packaged with the code: no file is checked again per notice
        )
        self._env.globals.update(
            link=self.link,
            money=formatting.money,
            when=formatting.when,
            short_when=formatting.short_when,
            minutes=formatting.minutes,
            public_url=self.public_url,
        )

    def link(self, *parts: object) -> str:
        """An address on the public site: ``link("auctions", id)``."""
        path = "/".join(quote(str(part), safe="") for part in parts)
        return f"{self.public_url}/{path}" if path else f"{self.public_url}/"

    def email(self, kind: str, values: Mapping[str, Any]) -> RenderedEmail:
        """The email of a kind of notice (raises when a template or a value is missing)."""
        text = self._env.get_template(f"email/{kind}.txt").make_module(dict(values))
        subject = " ".join(str(getattr(text, "subject", "")).split())
        if not subject:
            raise ValueError(f"email/{kind}.txt sets no subject")
        html = self._env.get_template(f"email/{kind}.html").render(**values, subject=subject)
        return RenderedEmail(subject, str(text).strip() + "\n", html)

    def sms(self, kind: str, values: Mapping[str, Any]) -> str:
        """The SMS text of a kind of notice, on one line, at most two segments long."""
        text = " ".join(self._env.get_template(f"sms/{kind}.txt").render(**values).split())
        return text if len(text) <= _SMS_LIMIT else text[: _SMS_LIMIT - 1] + "…"

    def kinds(self) -> list[str]:
        """Every kind that has an email template."""
        names = self._env.list_templates(filter_func=lambda name: name.startswith("email/"))
        stems = {name.split("/", 1)[1].split(".", 1)[0] for name in names}
        return sorted(stem for stem in stems if not stem.startswith("_"))
