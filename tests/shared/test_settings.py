"""Settings read from the environment, with errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import Settings


def test_defaults_make_the_embedded_mode_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings.from_env(_env_file=None)
    assert settings.database_url == "sqlite:///data/kbm.sqlite3"
    assert (settings.parsing_timeout, settings.ai_timeout, settings.notion_timeout) == (60, 120, 60)
    assert settings.default_timeout == 180
    assert settings.retry_delays == (0.0, 30.0, 300.0)
    assert (settings.worker_count("parsing"), settings.worker_count("default")) == (3, 1)
    # Worker metrics stay on this machine unless a deployment opens them up.
    assert settings.worker_metrics_host == "127.0.0.1"
    assert settings.worker_metrics_port == 9191


def test_environment_variables_are_read_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PORT", "8080")
    monkeypatch.setenv("RETRY_DELAYS", "0, 1.5,10")
    monkeypatch.setenv("CATEGORIES", "Rust, Go ,Python")
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("WORKER_METRICS_HOST", "0.0.0.0")
    settings = Settings.from_env(_env_file=None)
    assert settings.api_port == 8080
    assert settings.retry_delays == (0.0, 1.5, 10.0)
    assert settings.categories == ("Rust", "Go", "Python")
    assert settings.fetch_allow_private is True
    assert settings.worker_metrics_host == "0.0.0.0"
    assert settings.fetch_guard() == {
        "FETCH_ALLOW_PRIVATE": True,
        "FETCH_MAX_BYTES": 10 * 1024 * 1024,
        "FETCH_CONNECT_TIMEOUT": 10.0,
        "FETCH_READ_TIMEOUT": 20.0,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_PORT", "eighty"),
        ("API_PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "localhost:6379"),
        ("AI_PROVIDER", "gpt"),
        ("RETRY_DELAYS", "0,-1"),
        ("PARSING_TIMEOUT", "0"),
        ("WORKER_METRICS_PORT", "70000"),
        ("WORKER_METRICS_PORT", "0"),
        ("WORKER_METRICS_PORT", "metrics"),
        ("PARSING_MAX_RETRIES", "21"),
        ("AI_MAX_RETRIES", "often"),
        ("NOTION_RETRY_DELAYS", "0,-5"),
        ("AI_RETRY_DELAYS", "soon"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_LEVEL", "CRITICAL"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(_env_file=None)
    assert name in str(caught.value)
    assert repr(value) in str(caught.value)


def test_the_worker_metrics_port_reads_dramatiqs_name_as_a_fallback_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORKER_METRICS_PORT", raising=False)
    # Given only Dramatiq's own variable, as an older image or unit file sets it
    monkeypatch.setenv("dramatiq_prom_port", "9400")
    assert Settings.from_env(_env_file=None).worker_metrics_port == 9400
    # When the project's variable is set too, it wins
    monkeypatch.setenv("WORKER_METRICS_PORT", "9500")
    assert Settings.from_env(_env_file=None).worker_metrics_port == 9500
    # And a bad fallback value is reported under both names
    monkeypatch.delenv("WORKER_METRICS_PORT")
    monkeypatch.setenv("dramatiq_prom_port", "nine")
    with pytest.raises(ConfigurationError, match=r"WORKER_METRICS_PORT \(or dramatiq_prom_port\)"):
        Settings.from_env(_env_file=None)


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", "s3cret-token")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdef")
    settings = Settings.from_env(_env_file=None)
    assert "s3cret-token" not in repr(settings)
    assert "sk-abcdef" not in repr(settings)
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "s3cret-token"


def test_every_setting_is_documented_in_the_reference() -> None:
    reference = Path(__file__).resolve().parents[2] / "docs" / "guide" / "reference.md"
    text = reference.read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in text]
    assert not missing, f"add {missing} to the environment tables of {reference}"


def test_each_stage_falls_back_to_the_shared_retries_and_delays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the shared policy, the parsing stage's own, and a blank (unset) notion one
    monkeypatch.setenv("MAX_RETRIES", "2")
    monkeypatch.setenv("RETRY_DELAYS", "1,5")
    monkeypatch.setenv("PARSING_MAX_RETRIES", "6")
    monkeypatch.setenv("PARSING_RETRY_DELAYS", "0, 0.5")
    monkeypatch.setenv("NOTION_MAX_RETRIES", "")
    monkeypatch.setenv("NOTION_RETRY_DELAYS", " ")
    settings = Settings.from_env(_env_file=None)

    # Then parsing uses its own; ai, notion (blank) and default use the shared ones
    assert settings.stage_retries("parsing") == 6
    assert settings.stage_retry_delays("parsing") == (0.0, 0.5)
    for queue in ("ai", "notion", "default"):
        assert settings.stage_retries(queue) == 2
        assert settings.stage_retry_delays(queue) == (1.0, 5.0)
    # And a schedule shorter than the retries repeats its last delay
    assert [settings.retry_delay("parsing", n) for n in range(4)] == [0.0, 0.5, 0.5, 0.5]
    assert [settings.retry_delay("ai", n) for n in range(3)] == [1.0, 5.0, 5.0]


def test_the_poison_guard_never_cuts_a_stages_retries_short() -> None:
    settings = Settings.from_env(
        _env_file=None, max_retries=3, max_deliveries=8, parsing_max_retries=12
    )
    assert settings.stage_max_deliveries("parsing") == 13
    assert settings.stage_max_deliveries("ai") == 8


def test_the_log_level_defaults_to_info_and_reads_any_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    assert Settings.from_env(_env_file=None).log_level == "INFO"
    monkeypatch.setenv("LOG_LEVEL", " debug")
    assert Settings.from_env(_env_file=None).log_level == "DEBUG"
