"""Shared fixtures: a loopback stand-in for the Hugging Face Hub, an isolated HF cache for every test, a browser."""

from __future__ import annotations

import pytest

from tests.browser import launch_chromium
from tests.hub_standin import HubStandin


@pytest.fixture(autouse=True)
def isolated_hf_home(tmp_path_factory, monkeypatch):
    """Never read or write the user's real HF cache or token from a test."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setattr("huggingface_hub.constants.HF_HOME", str(home))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return home


@pytest.fixture
def hub_standin(monkeypatch):
    """A loopback HTTP stand-in for the Hub (this machine cannot reach the real one); HF_ENDPOINT points at it."""
    server = HubStandin().start()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_TOKEN", "hf_standin_token")
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", server.endpoint)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (tests/browser.py says how it is found)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
