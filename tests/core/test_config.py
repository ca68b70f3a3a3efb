"""Key, base and home resolution; .env without touching os.environ; modes; live refusal; masking."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import billing_kit
from billing_kit import ConfigurationError, LiveModeNotAllowed, mask_key
from billing_kit._config import SANDBOX_KEY, read_dotenv, resolve_settings
from billing_kit._masking import KeyScrubbingFilter, scrub

from .conftest import TEST_KEY

# Built at run time, like TEST_KEY: no committed line may look like a real key.
LIVE_KEY = "sk_live_" + "Lv" * 12
OTHER_TEST_KEY = "sk_test_" + "Ot" * 12


def test_argument_wins_over_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(f"STRIPE_API_KEY={OTHER_TEST_KEY}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STRIPE_API_KEY", OTHER_TEST_KEY)
    settings = resolve_settings(TEST_KEY, api_base="http://127.0.0.1:1")
    assert settings.api_key == TEST_KEY and settings.key_source == "argument"
    assert settings.mode == "test"


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"STRIPE_API_KEY={OTHER_TEST_KEY}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    assert resolve_settings().api_key == TEST_KEY


def test_dotenv_is_read_from_cwd_without_polluting_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        f"# local settings\nSTRIPE_API_KEY={TEST_KEY}\nSTRIPE_API_BASE=http://127.0.0.1:9/\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = resolve_settings()
    assert settings.api_key == TEST_KEY
    assert settings.key_source == ".env STRIPE_API_KEY"
    assert settings.api_base == "http://127.0.0.1:9"
    assert "STRIPE_API_KEY" not in os.environ and "STRIPE_API_BASE" not in os.environ
    assert read_dotenv(tmp_path / "missing") == {}


def test_no_key_means_sandbox(tmp_path: Path) -> None:
    settings = resolve_settings()
    assert settings.api_key == SANDBOX_KEY
    assert settings.mode == "sandbox"
    assert settings.start_sandbox is True
    explicit = resolve_settings(api_base="http://127.0.0.1:5")
    assert explicit.mode == "sandbox" and explicit.start_sandbox is False


def test_stripe_api_base_overrides_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_BASE", "http://localhost:12111")
    assert resolve_settings(TEST_KEY).api_base == "http://localhost:12111"
    assert resolve_settings(TEST_KEY, api_base="http://h:1").api_base == "http://h:1"


def test_home_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_settings(TEST_KEY).home == Path(os.environ["BILLING_KIT_HOME"])
    assert resolve_settings(TEST_KEY, home=tmp_path / "x").home == tmp_path / "x"
    monkeypatch.delenv("BILLING_KIT_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_settings(TEST_KEY).home == tmp_path / ".billing_kit"


def test_live_key_is_refused_by_default() -> None:
    with pytest.raises(LiveModeNotAllowed) as caught:
        resolve_settings(LIVE_KEY)
    message = str(caught.value)
    assert "allow_live=True" in message and "BILLING_KIT_ALLOW_LIVE=1" in message
    assert LIVE_KEY not in message and "sk_live_…" in message


def test_live_key_refused_by_connect_before_any_request() -> None:
    # Port 9 (discard) on loopback: a request would fail loudly, refusal must come first.
    with pytest.raises(LiveModeNotAllowed):
        billing_kit.connect(LIVE_KEY, api_base="http://127.0.0.1:9")


@pytest.mark.parametrize("how", ["argument", "environment", "dotenv"])
def test_live_key_allowed_explicitly(
    how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    if how == "environment":
        monkeypatch.setenv("BILLING_KIT_ALLOW_LIVE", "1")
    if how == "dotenv":
        (tmp_path / ".env").write_text("BILLING_KIT_ALLOW_LIVE=1\n")
    settings = resolve_settings(LIVE_KEY, allow_live=how == "argument")
    assert settings.mode == "live"
    with billing_kit.connect(
        LIVE_KEY, api_base="http://127.0.0.1:9", allow_live=how == "argument"
    ) as client:
        assert client.mode == "live" and client.default_rate_limit == 100


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("pk_test_" + "Pk" * 10, "publishable"),
        ("hello", "does not look like a Stripe secret key"),
        ("sk_test_has space", "does not look like"),
    ],
)
def test_malformed_keys(key: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        resolve_settings(key)


def test_bad_base_and_options() -> None:
    with pytest.raises(ConfigurationError, match="'ftp://x' is not an http"):
        resolve_settings(TEST_KEY, api_base="ftp://x")
    for options in (
        {"max_retries": -1},
        {"rate_limit": 0},
        {"duplicate_window": 10},
        {"backoff": -1},
    ):
        with pytest.raises(ConfigurationError):
            billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9", **options)  # type: ignore[arg-type]


def test_mask_key_shapes() -> None:
    assert mask_key(TEST_KEY) == "sk_test_…bkbk"
    assert mask_key("rk_live_" + "Ab" * 10) == "rk_live_…AbAb"
    assert mask_key(SANDBOX_KEY) == SANDBOX_KEY
    assert mask_key(None) == "<none>"
    assert mask_key("sk_test_abc") == "sk_test_…"
    assert scrub(f"a {TEST_KEY} b {LIVE_KEY}") == "a sk_test_…bkbk b sk_live_…LvLv"


def test_client_repr_and_attributes_mask_the_key(tmp_path: Path) -> None:
    with billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9/") as client:
        text = repr(client)
        assert TEST_KEY not in text
        assert "mode='test'" in text and "http://127.0.0.1:9'" in text and "sk_test_…bkbk" in text
        assert client.masked_key == "sk_test_…bkbk"
        assert client.api_base == "http://127.0.0.1:9"
        assert client.default_rate_limit == 25
        assert TEST_KEY not in repr(client._settings)
        namespace = client.cache_namespace
        assert namespace.startswith("test-127-0-0-1-9-")
        assert TEST_KEY[8:] not in namespace and namespace.replace("-", "").isalnum()


def test_log_filter_masks_keys_in_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("billing_kit.test")
    logger.addFilter(KeyScrubbingFilter())
    with caplog.at_level(logging.DEBUG, logger="billing_kit.test"):
        logger.info("using %s", TEST_KEY)
    assert caplog.records and TEST_KEY not in caplog.text and "sk_test_…bkbk" in caplog.text


def test_home_from_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BILLING_KIT_HOME")
    (tmp_path / ".env").write_text(f'BILLING_KIT_HOME="{tmp_path / "state"}"\n')
    monkeypatch.chdir(tmp_path)
    assert resolve_settings(TEST_KEY).home == tmp_path / "state"
    assert "BILLING_KIT_HOME" not in os.environ
