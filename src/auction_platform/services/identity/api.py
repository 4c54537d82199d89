"""HTTP routes of the identity service: ``/api/v1/auth``, ``/api/v1/users`` and the JWKS."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from auction_platform.core.auth import Admin, CurrentService, CurrentUser, Principal
from auction_platform.core.errors import ErrorTable
from auction_platform.core.failures import NotFound
from auction_platform.core.inputs import ResourceId
from auction_platform.core.net import client_address
from auction_platform.services.identity import answers, handlers, store, suspension_handlers
from auction_platform.services.identity.domain import (
    CHANNELS,
    NOTICES,
    Actor,
    BecomeSeller,
    ChangeProfile,
    IssueServiceToken,
    ListUsers,
    Login,
    Logout,
    Refresh,
    Register,
    Role,
    SetPreferences,
    SetRoles,
)
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.signup import DEVICE_HEADER, signals_of
from auction_platform.services.identity.suspension import Suspension

# Every refusal leaves with its kind's status. A refused sign-in, refresh or service
# credential came in the body, not as a bearer token: its 401 carries no challenge.
ERRORS = ErrorTable(
    unchallenged=frozenset(
        {"invalid_credentials", "invalid_refresh_token", "refresh_token_reused", "invalid_client"}
    )
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# The rules' limits the schema cannot hold (``domain``): the password's least length
# is a setting, a phone number is read without its spaces and punctuation.
SIGN_IN_RULES = (
    "At least `PASSWORD_MIN_LENGTH` characters (10 by default), at most 256; not one of "
    "the most common passwords, nor your name or email."
)
PHONE = (
    "In international form (E.164), e.g. `+4915112345678`; spaces, `-`, `.` and "
    "brackets are ignored."
)


class Registration(_Strict):
    email: EmailStr = Field(max_length=320)
    password: Annotated[str, Field(min_length=1, max_length=256, description=SIGN_IN_RULES)]
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Annotated[str | None, Field(max_length=32, description=PHONE)] = None


class Credentials(_Strict):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RefreshRequest(_Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class LogoutRequest(_Strict):
    refresh_token: Annotated[str | None, Field(max_length=200)] = None


class ServiceCredentials(_Strict):
    client_id: Annotated[str, Field(min_length=1, max_length=50)]
    client_secret: Annotated[str, Field(min_length=1, max_length=200)]


class ProfileChange(_Strict):
    display_name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    phone: Annotated[
        str | None, Field(max_length=32, description=PHONE + " `null` removes it.")
    ] = None


class RolesChange(_Strict):
    # Known roles only (422 ``unknown_role`` otherwise); every account stays a bidder.
    roles: Annotated[
        list[str],
        Field(max_length=3, json_schema_extra={"items": {"enum": [role.value for role in Role]}}),
    ]
    reason: Annotated[
        str | None, Field(max_length=500, description="Why (kept in the audit trail).")
    ] = None


# Channels and notices by name: an unknown one is refused by the rules (422
# ``unknown_channel``, ``unknown_notice``), so the schema only names them.
PreferencesChange = Annotated[
    dict[str, dict[str, bool]],
    Body(
        json_schema_extra={
            "propertyNames": {"enum": [channel.value for channel in CHANNELS]},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"enum": list(NOTICES)},
                "additionalProperties": {"type": "boolean"},
            },
            "examples": [{"sms": {"outbid": False}}],
        }
    ),
]


def _actor(principal: Principal) -> Actor:
    return Actor(principal.subject, principal.roles)


def _listed(user: store.User, suspended: Suspension | None = None) -> dict[str, Any]:
    """An account as the operators' list shows it, with its suspension in force if any."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "created_at": user.created_at.isoformat(),
        "suspended": suspended is not None,
        "suspended_until": suspended.until.isoformat() if suspended and suspended.until else None,
    }


def _profile_change(user_id: str, body: ProfileChange) -> ChangeProfile:
    return ChangeProfile(
        user_id,
        display_name=body.display_name,
        phone=body.phone,
        clear_phone="phone" in body.model_fields_set and body.phone is None,
    )


def build_router(ctx: Identity) -> APIRouter:
    """Every route of the identity service."""
    router = APIRouter()
    auth = APIRouter(prefix="/api/v1/auth", tags=["auth"])
    users = APIRouter(prefix="/api/v1/users", tags=["users"])

    @router.get("/.well-known/jwks.json", tags=["auth"], responses={200: {"model": answers.Keys}})
    async def jwks(response: Response) -> dict[str, Any]:
        """The public keys that verify access tokens."""
        response.headers["Cache-Control"] = "public, max-age=60"
        return await ctx.keys.jwks()

    @auth.post(
        "/register",
        status_code=201,
        responses={
            201: {"model": answers.UserAnswer},
            409: {"description": "An account with this email exists (`email_taken`)."},
        },
    )
    async def register(body: Registration, request: Request) -> dict[str, Any]:
        """Open an account (as a bidder). The client address and the site's device id
        (``X-Device-Id``, set by the site only: the gateway drops it) are kept for
        the shill-bidding signals, shown to admins only."""
        signals = signals_of(client_address(request), request.headers.get(DEVICE_HEADER))
        command = Register(body.email, body.password, body.display_name, body.phone, signals)
        return {"user": (await handlers.register(command, ctx=ctx)).public()}

    @auth.post(
        "/login",
        responses={
            200: {"model": answers.Tokens},
            401: {"description": "The email or password is not right (`invalid_credentials`)."},
            429: {
                "description": (
                    "Too many failed sign-ins for this account or address "
                    "(`too_many_attempts`); retry after `Retry-After` seconds."
                )
            },
        },
    )
    async def login(body: Credentials, request: Request) -> dict[str, Any]:
        """Sign in with email and password."""
        command = Login(body.email, body.password, address=client_address(request))
        return (await handlers.login(command, ctx=ctx)).public(ctx.clock())

    @auth.post(
        "/refresh",
        responses={
            200: {"model": answers.Tokens},
            401: {
                "description": (
                    "Not a refresh token of ours, expired or revoked (`invalid_refresh_token`), "
                    "or spent already (`refresh_token_reused`: its whole family is revoked)."
                )
            },
        },
    )
    async def refresh(body: RefreshRequest) -> dict[str, Any]:
        """Exchange a refresh token for a new pair (the old one is spent)."""
        pair = await handlers.refresh(Refresh(body.refresh_token), ctx=ctx)
        return pair.public(ctx.clock())

    @auth.post("/logout", status_code=204)
    async def logout(body: LogoutRequest, principal: CurrentUser) -> Response:
        """Sign out: revoke this session's tokens."""
        command = Logout(
            principal.subject,
            token_id=principal.token_id,
            token_expires_at=principal.expires_at,
            refresh_token=body.refresh_token,
        )
        await handlers.logout(command, ctx=ctx)
        return Response(status_code=204)

    @auth.post(
        "/service-token",
        responses={
            200: {"model": answers.ServiceToken},
            401: {"description": "Unknown service or wrong secret (`invalid_client`)."},
        },
    )
    async def service_token(body: ServiceCredentials) -> dict[str, Any]:
        """A token for one of the platform's services (client credentials)."""
        command = IssueServiceToken(body.client_id, body.client_secret)
        token = await handlers.issue_service_token(command, ctx=ctx)
        return {
            "token_type": "Bearer",
            "access_token": token.access_token,
            "expires_in": int((token.expires_at - ctx.clock()).total_seconds()),
        }

    @users.get("/me", responses={200: {"model": answers.UserAnswer}})
    async def me(principal: CurrentUser) -> dict[str, Any]:
        """Your profile."""
        return {"user": (await handlers.user(principal.subject, ctx=ctx)).public()}

    @users.patch("/me", responses={200: {"model": answers.UserAnswer}})
    async def change_me(body: ProfileChange, principal: CurrentUser) -> dict[str, Any]:
        """Change your display name or phone (send ``"phone": null`` to remove it)."""
        command = _profile_change(principal.subject, body)
        return {"user": (await handlers.change_profile(command, ctx=ctx)).public()}

    @users.get("/me/preferences", responses={200: {"model": answers.PreferencesAnswer}})
    async def preferences(principal: CurrentUser) -> dict[str, Any]:
        """Which notices you get on which channel."""
        user = await handlers.user(principal.subject, ctx=ctx)
        return {"preferences": user.preferences}

    @users.patch("/me/preferences", responses={200: {"model": answers.PreferencesAnswer}})
    async def change_preferences(body: PreferencesChange, principal: CurrentUser) -> dict[str, Any]:
        """Turn notices on or off, e.g. ``{"sms": {"outbid": false}}``."""
        command = SetPreferences(principal.subject, body)
        return {"preferences": await handlers.set_preferences(command, ctx=ctx)}

    @users.get("", responses={200: {"model": answers.UserPage}})
    async def list_users(
        admin: Admin,
        q: Annotated[str | None, Query(max_length=320)] = None,
        role: Role | None = None,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """Accounts, newest first (admins): ``q`` finds text in the email or display
        name, whatever the case; ``role`` keeps the holders of one role; ``cursor`` is
        the ``next_cursor`` of the page before."""
        page = await handlers.list_users(ListUsers(q, role, cursor, limit), ctx=ctx)
        ids = [user.id for user in page.items]
        suspended = await suspension_handlers.in_force_among(ids, ctx=ctx)
        items = [_listed(user, suspended.get(user.id)) for user in page.items]
        return {"items": items, "next_cursor": page.next_cursor}

    @users.post("/me/seller", responses={200: {"model": answers.SellerAnswer}})
    async def become_seller(principal: CurrentUser) -> dict[str, Any]:
        """Ask to sell: the seller role is granted on request. The answer carries a new
        token pair (as a login's) whose access token has the role: use it at once."""
        granted = await handlers.become_seller(BecomeSeller(principal.subject), ctx=ctx)
        return {"user": granted.user.public(), **granted.tokens.public(ctx.clock())}

    @users.get("/{user_id}/profile", responses={200: {"model": answers.ProfileAnswer}})
    async def profile(user_id: ResourceId) -> dict[str, Any]:
        """What anyone may see of an account: its display name and since when it exists."""
        user = await handlers.user(user_id, ctx=ctx)
        return {
            "user": {
                "id": user.id,
                "display_name": user.display_name,
                "member_since": user.created_at.isoformat(),
            }
        }

    @users.get("/{user_id}", responses={200: {"model": answers.UserAnswer}, **answers.NOT_YOURS})
    async def get_user(user_id: ResourceId, principal: CurrentUser) -> dict[str, Any]:
        """An account: your own, or any for an admin."""
        handlers.may_see(_actor(principal), user_id)
        return {"user": (await handlers.user(user_id, ctx=ctx)).public()}

    @users.patch("/{user_id}", responses={200: {"model": answers.UserAnswer}, **answers.NOT_YOURS})
    async def change_user(
        user_id: ResourceId, body: ProfileChange, principal: CurrentUser
    ) -> dict[str, Any]:
        """Change an account: your own, or any for an admin."""
        handlers.may_see(_actor(principal), user_id)
        command = _profile_change(user_id, body)
        return {"user": (await handlers.change_profile(command, ctx=ctx)).public()}

    @users.put("/{user_id}/roles", responses={200: {"model": answers.UserAnswer}})
    async def change_roles(user_id: ResourceId, body: RolesChange, admin: Admin) -> dict[str, Any]:
        """Grant or withdraw roles (admins only), with an optional ``reason``; the audit
        trail records who changed what. The account's access tokens issued
        before the change are refused from then on (401 ``token_stale``): its client
        refreshes and gets a token with the new roles."""
        command = SetRoles(user_id, tuple(body.roles), admin.subject, body.reason)
        user = await handlers.set_roles(command, ctx=ctx)
        return {"user": user.public()}

    @users.get("/{user_id}/contact", responses={200: {"model": answers.Contact}})
    async def contact(user_id: ResourceId, service: CurrentService) -> dict[str, Any]:
        """Where and how to reach a user (the platform's services only); a closed
        account is reached by no one (404)."""
        user = await handlers.user(user_id, ctx=ctx)
        if user.erased_at is not None:
            raise NotFound("user_not_found", "there is no such user")
        return {
            "user_id": user.id,
            "email": user.email,
            "phone": user.phone,
            "display_name": user.display_name,
            "preferences": user.preferences,
        }

    router.include_router(auth)
    router.include_router(users)
    return router
