"""Who may do what with a scenario: the rules of a team server, without Streamlit.

Two ways to run, one set of rules:

- **On one machine** (no sign-in configured) there is one planner, the local user, and
  everything belongs to them: every action is allowed, as before sign-in existed.
- **On a team server** (sign-in switched on in the configuration) a scenario belongs to
  whoever created it. Its owner may edit, rename, delete and restore it; other signed-in
  planners may open, compare, export and copy it; the admins named in the configuration
  may do anything. Scenarios saved before sign-in was switched on have no owner: only an
  admin changes them, everyone else copies them. Reference plans (NHS Area Teams, Regions)
  are read-only for everyone. Someone not signed in may do nothing, unless the
  configuration allows anonymous viewing: then they may view a scenario from its link.

The app asks :meth:`AccessPolicy.allows` before it offers a button and the scenario store
asks :meth:`AccessPolicy.check` again, under its lock, before it writes (see
:meth:`footprint.scenarios.ScenarioStore.save`'s ``guard``), so a rule holds even for a
page opened before the scenario changed hands.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import FootprintError

__all__ = [
    "ACTIONS",
    "LOCAL_USER",
    "READ_ACTIONS",
    "AccessDeniedError",
    "AccessPolicy",
    "ConfigurationError",
    "User",
    "read_settings",
]

Action = Literal["view", "open", "compare", "export", "copy", "edit", "rename", "delete", "restore"]
#: What a planner may do with a scenario; the first five change nothing.
ACTIONS: tuple[Action, ...] = (
    "view",
    "open",
    "compare",
    "export",
    "copy",
    "edit",
    "rename",
    "delete",
    "restore",
)
READ_ACTIONS: frozenset[str] = frozenset(ACTIONS[:5])
#: What the configuration's ``[auth]`` section must name for Streamlit's ``st.login``.
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
#: Environment variables read beside the configuration (comma-separated ids; a yes/no).
ADMINS_VARIABLE = "FOOTPRINT_ADMINS"
ANONYMOUS_VARIABLE = "FOOTPRINT_ANONYMOUS_VIEW"
_YES = frozenset({"1", "true", "yes", "on"})
_NO = frozenset({"", "0", "false", "no", "off"})
_WORDS = {
    "view": "view",
    "open": "open",
    "compare": "compare",
    "export": "export",
    "copy": "copy",
    "edit": "save over",
    "rename": "rename",
    "delete": "delete",
    "restore": "restore a version of",
}


class AccessDeniedError(FootprintError, PermissionError):
    """The planner may not do this with this scenario (someone else's, or a reference plan)."""


class ConfigurationError(FootprintError, ValueError):
    """The sign-in configuration is incomplete or malformed (the app then refuses to start)."""


@dataclass(frozen=True)
class User:
    """Who is acting: an identity from the sign-in provider, or the local user.

    Attributes
    ----------
    id
        What scenarios record as their creator and last changer: the e-mail address the
        provider gives, else its subject (``sub``); ``"local"`` on one machine.
    name
        What the app shows (the provider's name claim, else the id).
    signed_in
        True for an identity from the provider; False for the local user and for someone
        not signed in (``id`` empty).
    """

    id: str
    name: str = ""
    signed_in: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise ConfigurationError(
                f"a user id must be text; received {type(self.id).__name__} {self.id!r}"
            )
        object.__setattr__(self, "id", self.id.strip())
        object.__setattr__(self, "name", (self.name or "").strip() or self.id)

    @property
    def anonymous(self) -> bool:
        """Nobody signed in (on a team server, before signing in)."""
        return not self.id

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> User:
        """The user of an OpenID Connect identity (``st.user``): e-mail, else subject.

        Claims that are missing or not text count as absent; no usable id gives the
        anonymous user (``id`` empty), never someone else.
        """

        def text(key: str) -> str:
            value = claims.get(key)
            return value.strip() if isinstance(value, str) else ""

        ident = text("email").lower() or text("sub")
        if not ident:
            return ANONYMOUS
        return cls(id=ident, name=text("name") or ident, signed_in=True)


#: The one planner of an app run without sign-in: owns everything.
LOCAL_USER = User(id="local", name="local user")
#: Someone not signed in on a team server.
ANONYMOUS = User(id="", name="not signed in")


def _flag(value: object, *, where: str, problems: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text not in _NO:
        problems.append(f"{where} must be true or false; received {value!r}")
    return False


def _ids(value: object, *, where: str, problems: list[str]) -> list[str]:
    if isinstance(value, str):
        return [p.strip().lower() for p in value.split(",") if p.strip()]
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = list(value)
        bad = [v for v in items if not isinstance(v, str)]
        if bad:
            problems.append(f"{where} must list e-mail addresses or ids as text; received {bad!r}")
        return [v.strip().lower() for v in items if isinstance(v, str) and v.strip()]
    problems.append(
        f'{where} must be a list of e-mail addresses such as ["lead@nhs.net"]; received '
        f"{type(value).__name__} {value!r}"
    )
    return []


def read_settings(paths: Iterable[str | os.PathLike[str]]) -> dict[str, Any]:
    """The settings in the secrets files Streamlit reads (its ``secrets.files`` option), merged
    as Streamlit merges them: section by section, later files winning.

    Files that do not exist are skipped (no file at all: no sign-in). A file that exists but
    cannot be read is an error, never a reason to run without sign-in: Streamlit itself
    would then quietly have no ``[auth]``.

    Raises
    ------
    ConfigurationError
        Naming every file that cannot be read or parsed.
    """
    merged: dict[str, Any] = {}
    problems: list[str] = []
    for path in map(Path, paths):
        if not path.is_file():
            continue
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        for key, value in data.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    if problems:
        raise ConfigurationError(
            "The app's secrets file cannot be read, so the app stays closed (it may hold the "
            "sign-in settings); fix the TOML or remove the file",
            problems=problems,
        )
    return merged


@dataclass(frozen=True)
class AccessPolicy:
    """The rules in force: whether sign-in is on, who the admins are, anonymous viewing.

    Build it from the app's configuration with :meth:`from_settings`; the default
    (``sign_in=False``) is one machine, where the local user may do everything.
    """

    sign_in: bool = False
    admins: frozenset[str] = field(default_factory=frozenset)
    anonymous_view: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "admins", frozenset(a.strip().lower() for a in self.admins))

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        *,
        environ: Mapping[str, str] | None = None,
    ) -> AccessPolicy:
        """The policy a configuration describes (Streamlit's secrets as a plain mapping).

        Sign-in is on when the ``[auth]`` section is there; it must then name every key
        Streamlit's ``st.login`` needs, or the app would open to everyone while its
        operator believed it closed. ``[footprint] admins`` (a list) and
        ``anonymous_view`` (true/false) are read, and the ``FOOTPRINT_ADMINS`` (comma-
        separated) and ``FOOTPRINT_ANONYMOUS_VIEW`` environment variables add to them.

        Raises
        ------
        ConfigurationError
            Listing every missing or malformed setting.
        """
        env = os.environ if environ is None else environ
        problems: list[str] = []
        auth = settings.get("auth")
        sign_in = auth is not None
        if sign_in:
            if not isinstance(auth, Mapping):
                problems.append(f"[auth] must be a section of settings; received {auth!r}")
            else:
                missing = [k for k in AUTH_KEYS if not str(auth.get(k) or "").strip()]
                if missing:
                    problems.append(
                        f"[auth] lacks {', '.join(missing)}; set each (see "
                        "docs/secrets.example.toml), or remove [auth] to run without sign-in"
                    )
        own = settings.get("footprint") or {}
        if not isinstance(own, Mapping):
            problems.append(f"[footprint] must be a section of settings; received {own!r}")
            own = {}
        admins = _ids(own.get("admins", []), where="[footprint] admins", problems=problems)
        admins += _ids(env.get(ADMINS_VARIABLE, ""), where=ADMINS_VARIABLE, problems=problems)
        anonymous = _flag(
            own.get("anonymous_view", False), where="[footprint] anonymous_view", problems=problems
        ) or _flag(env.get(ANONYMOUS_VARIABLE, ""), where=ANONYMOUS_VARIABLE, problems=problems)
        if problems:
            raise ConfigurationError(
                "The sign-in configuration (.streamlit/secrets.toml) cannot be used; the app "
                "stays closed until it is fixed",
                problems=problems,
            )
        return cls(sign_in=sign_in, admins=frozenset(admins), anonymous_view=anonymous)

    def is_admin(self, user: User) -> bool:
        return (not self.sign_in) or (user.signed_in and user.id in self.admins)

    def may_use_app(self, user: User) -> bool:
        """Whether ``user`` may reach the app at all (map, scenarios, uploads, optimiser)."""
        return not self.sign_in or user.signed_in

    def may_view_link(self, user: User) -> bool:
        """Whether ``user`` may open a scenario's read-only link."""
        return self.may_use_app(user) or self.anonymous_view

    def allows(
        self,
        user: User,
        action: str,
        *,
        owner: str | None = None,
        reference: bool = False,
    ) -> bool:
        """Whether ``user`` may do ``action`` to a scenario owned by ``owner`` (its
        ``created_by``; ``None`` for one saved before sign-in), or to a reference plan."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        if action in READ_ACTIONS:
            return self.may_view_link(user) if action == "view" else self.may_use_app(user)
        if reference or not self.may_use_app(user):
            return False
        if not self.sign_in or self.is_admin(user):
            return True
        return bool(owner) and owner == user.id

    def check(
        self,
        user: User,
        action: str,
        *,
        name: str,
        owner: str | None = None,
        reference: bool = False,
    ) -> None:
        """Raise :class:`AccessDeniedError` (saying why and what to do instead) unless allowed."""
        if self.allows(user, action, owner=owner, reference=reference):
            return
        verb = _WORDS.get(action, action)
        if reference:
            why = f"{name} is a reference plan, read-only for everyone; copy it to change it"
        elif not self.may_use_app(user):
            why = f"sign in to {verb} {name!r}"
        elif owner:
            why = (
                f"scenario {name!r} belongs to {owner}; only its owner or an admin may {verb} "
                "it. Save a copy to change it"
            )
        else:
            why = (
                f"scenario {name!r} was saved before sign-in and has no owner; only an admin "
                f"may {verb} it. Save a copy to change it"
            )
        raise AccessDeniedError(f"You ({user.name or 'not signed in'}) may not {verb} it: {why}")

    def describe(self) -> str:
        """One line on the rules in force, for the app's sidebar or log."""
        if not self.sign_in:
            return "No sign-in: everything belongs to the local user."
        extra = " Anyone with a scenario's link may view it." if self.anonymous_view else ""
        return (
            "Sign-in is on: each scenario belongs to whoever created it; others may open, "
            f"compare, export and copy it.{extra}"
        )
