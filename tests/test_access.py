"""The team server's rules (footprint.access), without Streamlit: who may do what."""

from __future__ import annotations

import itertools

import pytest

from footprint.access import (
    ACTIONS,
    LOCAL_USER,
    READ_ACTIONS,
    AccessDeniedError,
    AccessPolicy,
    ConfigurationError,
    User,
)

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "s" * 32,
    "client_id": "footprint",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9400/.well-known/openid-configuration",
}
ALICE = User(id="alice@nhs.example", signed_in=True)
BOB = User(id="bob@nhs.example", signed_in=True)
ADMIN = User(id="lead@nhs.example", signed_in=True)
NOBODY = User.from_claims({})
TEAM = AccessPolicy(sign_in=True, admins=frozenset({"Lead@NHS.example"}))
WRITES = [a for a in ACTIONS if a not in READ_ACTIONS]


def test_without_sign_in_the_local_user_may_do_everything():
    policy = AccessPolicy.from_settings({}, environ={})
    assert not policy.sign_in
    for action, owner in itertools.product(ACTIONS, ("alice@nhs.example", None, "local")):
        assert policy.allows(LOCAL_USER, action, owner=owner)
    assert policy.describe().startswith("No sign-in")


def test_reference_plans_are_read_only_for_everyone():
    for policy, user in ((AccessPolicy(), LOCAL_USER), (TEAM, ADMIN), (TEAM, ALICE)):
        assert policy.allows(user, "open", reference=True)
        assert not any(policy.allows(user, a, reference=True) for a in WRITES)
    with pytest.raises(AccessDeniedError, match="NHS Area Teams is a reference plan, read-only"):
        TEAM.check(ADMIN, "edit", name="NHS Area Teams", reference=True)


def test_owner_edits_others_read_and_copy_admins_do_anything():
    for action in ACTIONS:
        assert TEAM.allows(ALICE, action, owner=ALICE.id)
        assert TEAM.allows(ADMIN, action, owner=ALICE.id)
        assert TEAM.allows(BOB, action, owner=ALICE.id) == (action in READ_ACTIONS)
    with pytest.raises(
        AccessDeniedError,
        match=r"You \(bob@nhs.example\) may not delete it: scenario 'Plan A' belongs to "
        r"alice@nhs.example; only its owner or an admin may delete it. Save a copy to change it",
    ):
        TEAM.check(BOB, "delete", name="Plan A", owner=ALICE.id)


def test_scenarios_without_owner_are_for_admins_to_change():
    assert not TEAM.allows(ALICE, "edit", owner=None)
    assert TEAM.allows(ALICE, "copy", owner=None)
    assert TEAM.allows(ADMIN, "rename", owner=None)
    with pytest.raises(AccessDeniedError, match="saved before sign-in and has no owner"):
        TEAM.check(ALICE, "rename", name="Old", owner=None)
    # a scenario saved on one machine ("local") is not anyone's on the team server
    assert not TEAM.allows(ALICE, "edit", owner="local")


def test_nobody_signed_in_may_do_nothing_unless_anonymous_viewing_is_on():
    assert NOBODY.anonymous and not NOBODY.signed_in
    assert not TEAM.may_use_app(NOBODY)
    assert not any(TEAM.allows(NOBODY, a, owner="") for a in ACTIONS)
    with pytest.raises(AccessDeniedError, match="sign in to open 'Plan A'"):
        TEAM.check(NOBODY, "open", name="Plan A", owner=ALICE.id)
    viewing = AccessPolicy(sign_in=True, anonymous_view=True)
    assert viewing.allows(NOBODY, "view") and viewing.may_view_link(NOBODY)
    assert not viewing.allows(NOBODY, "open") and not viewing.may_use_app(NOBODY)
    assert "Anyone with a scenario's link may view it" in viewing.describe()


def test_identity_from_claims_email_then_subject_never_someone_else():
    assert User.from_claims({"email": " Alice@NHS.example ", "sub": "123"}).id == (
        "alice@nhs.example"
    )
    assert User.from_claims({"sub": "123", "name": "Ann"}) == User(
        id="123", name="Ann", signed_in=True
    )
    for hostile in ({"email": 5}, {"email": ["a"], "sub": None}, {"email": "  "}):
        assert User.from_claims(hostile).anonymous


def test_settings_sign_in_admins_and_anonymous_viewing():
    policy = AccessPolicy.from_settings(
        {"auth": AUTH, "footprint": {"admins": ["Lead@nhs.example"], "anonymous_view": True}},
        environ={"FOOTPRINT_ADMINS": "ops@nhs.example, ", "FOOTPRINT_ANONYMOUS_VIEW": "no"},
    )
    assert policy == AccessPolicy(
        sign_in=True,
        admins=frozenset({"lead@nhs.example", "ops@nhs.example"}),
        anonymous_view=True,
    )
    assert policy.is_admin(ADMIN) and not policy.is_admin(ALICE)
    env_only = AccessPolicy.from_settings(
        {"auth": AUTH}, environ={"FOOTPRINT_ANONYMOUS_VIEW": "yes"}
    )
    assert env_only.anonymous_view and env_only.admins == frozenset()


def test_an_incomplete_sign_in_configuration_keeps_the_app_closed():
    with pytest.raises(
        ConfigurationError,
        match=r"(?s)stays closed until it is fixed:\n  - \[auth\] lacks client_secret, "
        r"server_metadata_url; set each.*or remove \[auth\] to run without sign-in"
        r".*\[footprint\] admins must be a list of e-mail addresses.*received int 5"
        r".*\[footprint\] anonymous_view must be true or false; received 'maybe'"
        r".*FOOTPRINT_ANONYMOUS_VIEW must be true or false; received 'perhaps'",
    ):
        AccessPolicy.from_settings(
            {
                "auth": {
                    k: v
                    for k, v in AUTH.items()
                    if k not in ("client_secret", "server_metadata_url")
                },
                "footprint": {"admins": 5, "anonymous_view": "maybe"},
            },
            environ={"FOOTPRINT_ANONYMOUS_VIEW": "perhaps"},
        )
    with pytest.raises(ConfigurationError, match=r"\[auth\] must be a section"):
        AccessPolicy.from_settings({"auth": "on"}, environ={})
    with pytest.raises(ValueError, match="unknown action 'steal'"):
        TEAM.allows(ALICE, "steal")


def test_settings_are_read_from_the_secrets_files_later_ones_winning(tmp_path):
    from footprint.access import read_settings

    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(
        '[auth]\nclient_id = "one"\nclient_secret = "s"\n[footprint]\nadmins = ["x"]\n'
    )
    second.write_text('[auth]\nclient_id = "two"\n')
    assert read_settings([first, second, tmp_path / "missing.toml"]) == {
        "auth": {"client_id": "two", "client_secret": "s"},
        "footprint": {"admins": ["x"]},
    }
    assert read_settings([tmp_path / "missing.toml", tmp_path]) == {}  # no file: no sign-in
    broken = tmp_path / "broken.toml"
    broken.write_bytes(b"[auth\nclient_id = ")
    with pytest.raises(
        ConfigurationError,
        match=r"(?s)secrets file cannot be read, so the app stays closed .*broken\.toml: ",
    ):
        read_settings([first, broken])


def test_the_shipped_example_configuration_switches_sign_in_on():
    from pathlib import Path

    from footprint.access import read_settings

    example = Path(__file__).resolve().parent.parent / "docs" / "secrets.example.toml"
    policy = AccessPolicy.from_settings(read_settings([example]), environ={})
    assert policy == AccessPolicy(
        sign_in=True, admins=frozenset({"lead.planner@nhs.net"}), anonymous_view=False
    )
