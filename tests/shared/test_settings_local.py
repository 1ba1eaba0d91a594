"""The settings of local mode's retries and of what counts as production."""

from __future__ import annotations

import pytest

from shared.errors import ConfigurationError
from shared.settings import Settings


def test_local_retry_delays_are_read_like_the_other_delays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCAL_RETRY_DELAYS", "0.5, 2")
    assert Settings.from_env(_env_file=None).local_retry_delays == (0.5, 2.0)

    monkeypatch.setenv("LOCAL_RETRY_DELAYS", "soon")
    with pytest.raises(ConfigurationError, match=r"LOCAL_RETRY_DELAYS: .*seconds separated"):
        Settings.from_env(_env_file=None)


def test_production_is_said_by_kbm_environment_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings.from_env(_env_file=None).production is False
    monkeypatch.setenv("KBM_ENVIRONMENT", "production")
    assert Settings.from_env(_env_file=None).production is True

    monkeypatch.setenv("KBM_ENVIRONMENT", "prod")
    with pytest.raises(
        ConfigurationError, match=r"KBM_ENVIRONMENT: .*'development' or 'production'"
    ):
        Settings.from_env(_env_file=None)
