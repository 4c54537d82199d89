"""What every page shares: the visitor, their session, forms with CSRF tokens, rendering.

Page routes use ``PageRoute``: a refusal of the API, a form without its CSRF
token or a page that needs a signed-in visitor becomes a page for people (or a
redirect to sign in), never a JSON error or a stack trace.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment

from auction_platform.core.net import client_address
from auction_platform.services.web.assets import Assets
from auction_platform.services.web.client import ApiProblem, PublicApi
from auction_platform.services.web.pagecache import PageCache
from auction_platform.services.web.sessions import (
    COOKIE,
    DEVICE_COOKIE,
    DEVICE_COOKIE_DAYS,
    VISITOR_COOKIE,
    AccountSuspended,
    Session,
    SessionStore,
)

log = logging.getLogger("auction_platform.web")

# No request leaves for another host; the live feed is a WebSocket to this one.
CSP = (
    "default-src 'self'; img-src 'self' https: data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Stripe's Payment Element must load from Stripe (card data never touches the
# platform): the checkout page alone allows Stripe's hosts.
STRIPE_CSP = (
    "default-src 'self'; script-src 'self' https://js.stripe.com; "
    "frame-src https://js.stripe.com https://hooks.stripe.com; "
    "connect-src 'self' https://api.stripe.com; img-src 'self' https: data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_FORM_LIMIT = 64 * 1024


class NotSignedIn(Exception):
    """The page needs a signed-in visitor."""


class Forbidden(Exception):
    """The page needs a role the visitor does not have."""

    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role


class CsrfRefused(Exception):
    """A form came without the token this visitor's pages carry."""


@dataclass(frozen=True, slots=True)
class Web:
    """The site's context, built by the composition root."""

    api: PublicApi
    sessions: SessionStore
    templates: Environment
    assets: Assets
    secure_cookies: bool
    clock: Callable[[], datetime]
    pages: PageCache
    # The shortest lot the platform allows (the listing form offers it when short).
    shortest_lot_seconds: int = 60
    # Set when Stripe takes the payments: the key its Payment Element is mounted with.
    stripe_publishable_key: str | None = None
    # The largest photo a seller may upload (the API says so too; the form stops sooner).
    photo_max_bytes: int = 10 * 1024 * 1024
    max_images: int = 12


@dataclass(slots=True)
class Visit:
    """One request to the site: who is visiting and what the answer must set."""

    request: Request
    web: Web
    session: Session | None
    cookie: str | None
    visitor: str
    new_visitor: bool
    drop_session: bool = False
    # The browser's device id (the ``ap_device`` cookie), new when it had none.
    device: str = ""
    new_device: bool = False

    @property
    def address(self) -> str:
        """The browser's address, as the gateway forwarded it."""
        return client_address(self.request)

    @property
    def csrf(self) -> str:
        """The token every form of this visitor's pages carries."""
        if self.session is not None:
            return self.session.csrf
        return self.web.sessions.visitor_csrf(self.visitor)

    @property
    def token(self) -> str | None:
        """The access token the site calls the API with for this visitor."""
        return self.session.access_token if self.session else None

    def user(self) -> Session:
        """The signed-in visitor's session, or ``NotSignedIn``."""
        if self.session is None:
            raise NotSignedIn()
        return self.session

    def role(self, role: str) -> Session:
        """The signed-in visitor's session if they hold ``role``."""
        session = self.user()
        if not session.has_role(role):
            raise Forbidden(role)
        return session

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the public API as this visitor.

        A token that identity marked stale (an admin changed the account's roles) is
        renewed once, with the account's roles read again, and the call repeated.
        """
        try:
            return await self.web.api.call(
                method, path, token=self.token, address=self.address, **kwargs
            )
        except ApiProblem as problem:
            if problem.code == SUSPENDED and self.session is not None:
                raise await self.suspended(problem) from problem
            if problem.status != 401 or problem.code != "token_stale" or not await self.renew():
                raise
        return await self.web.api.call(
            method, path, token=self.token, address=self.address, **kwargs
        )

    async def suspended(self, problem: ApiProblem) -> AccountSuspended:
        """The end of a session whose account is suspended. A live token's refusal
        carries the end only: the refused refresh says the reason too."""
        refused = suspension_of(problem)
        if refused.reason is None and self.session is not None:
            try:
                await refresher(self.web, self.request)(self.session.refresh_token)
            except AccountSuspended as found:
                refused = found
            except ApiProblem:
                pass
        return refused

    async def sign_out_suspended(self) -> None:
        """Forget this visitor's session: their account is suspended."""
        if self.cookie is not None:
            await self.web.sessions.delete(self.cookie)
        self.session, self.cookie, self.drop_session = None, None, True

    async def renew(self) -> bool:
        """New tokens for this session, and the roles they carry; False if it has ended."""
        if self.session is None or self.cookie is None:
            return False
        renewed = await self.web.sessions.fresh(
            self.cookie, self.session, refresher(self.web, self.request), now=True
        )
        if renewed is None:
            self.session, self.drop_session = None, True
            return False
        me = await self.web.api.call(
            "GET", "/api/v1/users/me", token=renewed.access_token, address=self.address
        )
        self.session = replace(renewed, roles=tuple(me["user"]["roles"]))
        await self.web.sessions.save(self.cookie, self.session)
        return True

    async def flash(self, message: str, kind: str = "info") -> None:
        """A message for the next page this visitor sees (signed-in visitors only)."""
        if self.session is not None and self.cookie is not None:
            self.session = replace(self.session, flash=message, flash_kind=kind)
            await self.web.sessions.save(self.cookie, self.session)

    async def take_flash(self) -> tuple[str, str] | None:
        """The message left for this page, forgotten once shown."""
        if self.session is None or self.session.flash is None or self.cookie is None:
            return None
        shown = (self.session.flash, self.session.flash_kind)
        self.session = replace(self.session, flash=None)
        await self.web.sessions.save(self.cookie, self.session)
        return shown

    async def upload(self, field: str, *, max_bytes: int) -> tuple[bytes, str]:
        """A file sent with a multipart form (its bytes and declared type), once its CSRF
        token is checked; an empty bytes when no file was chosen."""
        async with self.request.form(max_files=1, max_fields=8, max_part_size=max_bytes) as form:
            sent = str(form.get("csrf_token", "")) or self.request.headers.get("x-csrf-token", "")
            if not hmac.compare_digest(sent.encode(), self.csrf.encode()):
                raise CsrfRefused()
            chosen = form.get(field)
            if chosen is None or isinstance(chosen, str):
                return b"", ""
            return await chosen.read(), chosen.content_type or ""

    async def form(self) -> dict[str, str]:
        """The posted form's fields, once its CSRF token is checked."""
        body = await self.request.body()
        if len(body) > _FORM_LIMIT:
            raise ApiProblem(413, "body_too_large", "the form is too large")
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        sent = fields.pop("csrf_token", "") or self.request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), self.csrf.encode()):
            raise CsrfRefused()
        return fields

    def finish(self, response: Response, *, csp: str = CSP) -> Response:
        """Set the cookies this visit needs on the answer."""
        if self.new_visitor:
            response.set_cookie(
                VISITOR_COOKIE,
                self.visitor,
                max_age=30 * 86_400,
                httponly=True,
                samesite="lax",
                secure=self.web.secure_cookies,
                path="/",
            )
        if self.new_device:
            response.set_cookie(
                DEVICE_COOKIE,
                self.device,
                max_age=DEVICE_COOKIE_DAYS * 86_400,
                httponly=True,
                samesite="lax",
                secure=self.web.secure_cookies,
                path="/",
            )
        if self.drop_session:
            response.delete_cookie(COOKIE, path="/")
        response.headers["Content-Security-Policy"] = csp
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def render(
        self, template: str, status: int = 200, *, csp: str = CSP, **context: Any
    ) -> Response:
        """A page from its template (``csp``: a page that must load a provider's script)."""
        return self.finish(HTMLResponse(self.html(template, **context), status), csp=csp)

    async def cached(self, render: Callable[[], Awaitable[tuple[int, str]]]) -> Response:
        """A page every anonymous visitor sees alike, from the micro-cache when they are."""
        if self.session is not None:
            status, html = await render()
        else:
            key = self.request.url.path + "?" + self.request.url.query
            status, html = await self.web.pages.page(key, render)
        return self.finish(HTMLResponse(html, status))

    def html(self, template: str, **context: Any) -> str:
        """A template rendered for this visit."""
        return self.web.templates.get_template(template).render(
            visit=self,
            session=self.session,
            csrf=self.csrf,
            asset=self.web.assets.url,
            path=self.request.url.path,
            server_time=self.web.clock().isoformat(),
            **context,
        )

    def redirect(self, to: str) -> Response:
        """After a form: see the result at ``to`` (303, so a reload does not post again)."""
        return self.finish(RedirectResponse(to, status_code=303))

    def wants_json(self) -> bool:
        """True for the site's own script, which updates the page in place."""
        return self.request.headers.get("x-requested-with") == "fetch"

    async def answer(self, to: str, message: str, kind: str = "info", **data: Any) -> Response:
        """The result of a form: JSON for the page's script, else a redirect with a flash."""
        if self.wants_json():
            body = {"message": message, "kind": kind, **data}
            return self.finish(JSONResponse(body, 422 if kind == "error" else 200))
        await self.flash(message, kind)
        return self.redirect(to)


async def visit_of(request: Request, web: Web) -> Visit:
    """Who is visiting: their session (with fresh tokens) when they have one."""
    cookie = request.cookies.get(COOKIE)
    session = await web.sessions.load(cookie) if cookie else None
    drop = bool(cookie) and session is None
    if session is not None and cookie is not None:
        session = await web.sessions.fresh(cookie, session, refresher(web, request))
        drop = session is None
    visitor, new_visitor = _random_id(request.cookies.get(VISITOR_COOKIE, ""))
    device, new_device = _random_id(request.cookies.get(DEVICE_COOKIE, ""))
    return Visit(
        request,
        web,
        session,
        cookie if session else None,
        visitor,
        new_visitor,
        drop,
        device=device,
        new_device=new_device,
    )


def _random_id(kept: str) -> tuple[str, bool]:
    """A cookie's random id as the browser sent it, or a new one (True) when it had none."""
    if 16 <= len(kept) <= 64 and kept.isascii():
        return kept, False
    return secrets.token_urlsafe(24), True


def refresher(web: Web, request: Request) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """How this request renews a session's tokens: identity's refresh, as the visitor."""

    async def refresh(refresh_token: str) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = await web.api.post(
                "/api/v1/auth/refresh",
                json={"refresh_token": refresh_token},
                address=client_address(request),
            )
        except ApiProblem as problem:
            if problem.code == SUSPENDED:
                raise suspension_of(problem) from problem
            raise
        return answer

    return refresh


SUSPENDED = "account_suspended"


def suspension_of(problem: ApiProblem) -> AccountSuspended:
    """The suspension an ``account_suspended`` refusal tells of (its end, its reason)."""
    details = problem.details if isinstance(problem.details, dict) else {}
    until, reason = details.get("until"), details.get("reason")
    return AccountSuspended(
        str(until) if until else None, str(reason) if reason is not None else None
    )


def suspension_page(visit: Visit, refused: AccountSuspended) -> Response:
    """The sign-in page, saying that the account is suspended, until when and why (403)."""
    if visit.wants_json():
        body = {"message": "Your account is suspended.", "kind": "error", "signed_out": True}
        return visit.finish(JSONResponse(body, 403))
    return visit.render(
        "signin.html", 403, email="", problem=None, next="/", suspension=refused, signed_out=True
    )


_TITLES = {
    400: "That request was not understood",
    403: "Not allowed",
    404: "Page not found",
    409: "That could not be done now",
    413: "Too large",
    422: "Please check what you entered",
    429: "Too many requests",
    503: "Temporarily unavailable",
}


def problem_page(visit: Visit, status: int, message: str) -> Response:
    """A page that explains a refusal in words."""
    status = status if 400 <= status < 600 else 500
    title = _TITLES.get(status, "Something went wrong")
    response = visit.render("error.html", status, title=title, message=message)
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


class PageRoute(APIRoute):
    """A route whose refusals become pages for people."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            started = time.perf_counter()
            try:
                return await handler(request)
            except NotSignedIn:
                target = quote(request.url.path, safe="/")
                return RedirectResponse(f"/signin?next={target}", status_code=303)
            except AccountSuspended as refused:
                visit = await visit_of(request, request.app.state.runtime.context)
                await visit.sign_out_suspended()
                return suspension_page(visit, refused)
            except (Forbidden, CsrfRefused, ApiProblem) as exc:
                web: Web = request.app.state.runtime.context
                visit = await visit_of(request, web)
                if isinstance(exc, Forbidden):
                    return problem_page(
                        visit, 403, f"This page is for accounts with the {exc.role} role."
                    )
                if isinstance(exc, CsrfRefused):
                    return problem_page(
                        visit,
                        403,
                        "The form had expired or did not come from this site. "
                        "Please go back, reload the page and try again.",
                    )
                if exc.status == 401 and visit.session is not None:
                    target = quote(request.url.path, safe="/")
                    return RedirectResponse(f"/signin?next={target}", status_code=303)
                if exc.status >= 500:
                    log.warning(
                        "page %s: %s (%.0f ms)",
                        request.url.path,
                        exc,
                        (time.perf_counter() - started) * 1000,
                    )
                return problem_page(visit, exc.status, exc.message)
            except Exception:
                log.exception("page %s failed", request.url.path)
                web = request.app.state.runtime.context
                return problem_page(
                    await visit_of(request, web),
                    500,
                    "Something went wrong on our side. Please try again in a moment.",
                )

        return page


def query(request: Request) -> Mapping[str, str]:
    """The query parameters (the last value of each)."""
    return dict(request.query_params)


async def status_list(
    visit: Visit,
    request: Request,
    *,
    api_path: str,
    statuses: Mapping[str, str],
    page: int,
    template: str,
    items: str,
) -> Response:
    """An operator's list of everyone's records of one kind, filtered by status and paged
    newest first: the API's ``role=any`` list rendered with its filter and its way back."""
    asked = query(request)
    status = asked.get("status") if asked.get("status") in statuses else None
    cursor = asked.get("cursor", "")[:512] or None
    found = await visit.api(
        "GET", api_path, params={"role": "any", "status": status, "cursor": cursor, "limit": page}
    )
    return visit.render(
        template,
        **{items: found["items"]},
        next_cursor=found.get("next_cursor"),
        chosen=status,
        statuses=statuses,
        paged=cursor is not None,
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        flash=await visit.take_flash(),
    )


async def display_names(visit: Visit, user_ids: list[str]) -> dict[str, str]:
    """Display names of accounts from their public profiles, read in parallel (one that
    cannot be read is left out, and the page says "a member"); never an email address."""

    async def name(user_id: str) -> tuple[str, str | None]:
        try:
            found = await visit.api("GET", f"/api/v1/users/{user_id}/profile")
        except ApiProblem:
            return user_id, None
        return user_id, str(found["user"]["display_name"])

    found = await asyncio.gather(*(name(user_id) for user_id in dict.fromkeys(user_ids)))
    return {user_id: shown for user_id, shown in found if shown is not None}
