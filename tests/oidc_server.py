"""A real OpenID Connect provider on 127.0.0.1 for the sign-in tests, and the app's secrets.

The provider is the ``oidc-provider-mock`` package (in requirements.txt), run as its own
process (``python -m oidc_provider_mock``): discovery, authorization, tokens, signed ID
tokens and userinfo as any provider serves them, with no outside network. At its authorize
step it shows a form where the subject is typed (:func:`sign_in_as` does that in the
browser); the subject becomes the e-mail claim. Plain Python, no pytest.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SECRETS_VARIABLE = "STREAMLIT_SECRETS_FILES"  # Streamlit's secrets.files option, as a variable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def oidc_provider(log_path: Path, *, timeout: float = 60.0) -> Iterator[str]:
    """Run the provider on a free local port while the block lasts; yields its issuer URL."""
    port = free_port()
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                url = issuer + "/.well-known/openid-configuration"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the OpenID Connect provider did not start:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.2)
        yield issuer
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def write_secrets(
    path: Path,
    *,
    issuer: str,
    app_port: int,
    admins: tuple[str, ...] = (),
    anonymous_view: bool = False,
) -> Path:
    """The app's secrets file for ``issuer``: Streamlit's ``[auth]`` and the app's
    ``[footprint]`` settings, as docs/secrets.example.toml shows them."""
    listed = ", ".join(f'"{a}"' for a in admins)
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "footprint-tests"\n'
        'client_secret = "not-a-real-secret"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        "\n[footprint]\n"
        f"admins = [{listed}]\n"
        f"anonymous_view = {'true' if anonymous_view else 'false'}\n",
        encoding="utf-8",
    )
    return path


def sign_in_as(page, subject: str) -> None:
    """At the provider's authorize form (after the app's "Sign in"), sign in as ``subject``."""
    page.wait_for_selector('input[name="sub"]', timeout=30_000)
    page.fill('input[name="sub"]', subject)
    page.click('button[type="submit"]:has-text("Authorize")')
