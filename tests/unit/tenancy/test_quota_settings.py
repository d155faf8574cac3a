"""Quota tiers in the settings: from TOML tables, JSON flags and environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from strongroom import bootstrap
from strongroom.cli.main import main
from strongroom.settings import Settings, SettingsError
from strongroom.tenancy.quotas import BUILTIN_TIERS, STANDARD, build_tiers


class Captured(Exception):
    """Stops the server command once its settings are built."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("captured")
        self.settings = settings


@pytest.fixture
def captured_settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    def build(settings: Settings) -> None:
        raise Captured(settings)

    monkeypatch.setattr(bootstrap, "build", build)

    def run(*args: str, env: dict[str, str] | None = None) -> Settings:
        result = CliRunner().invoke(main, ["server", "--dev", *args], env=env)
        assert isinstance(result.exception, Captured), result.output
        return result.exception.settings

    return run


def test_the_builtin_tiers_are_the_default() -> None:
    settings = Settings(dev=True)
    assert settings.tenant_tiers == BUILTIN_TIERS
    assert settings.default_tenant_tier == STANDARD


def test_the_default_tier_must_be_a_tier() -> None:
    with pytest.raises(SettingsError, match="'gold' is not one of the tiers"):
        Settings(dev=True, default_tenant_tier="gold")
    tiers = build_tiers({"gold": {"read_rate": 1}})
    assert Settings(dev=True, tenant_tiers=tiers, default_tenant_tier="gold")


def test_tiers_from_a_toml_file(captured_settings: Any, tmp_path: Path) -> None:
    config = tmp_path / "strongroom.toml"
    config.write_text(
        'default_tenant_tier = "small"\n'
        "[tenant_tiers.small]\n"
        "read_rate = 20\n"
        "max-secrets = 100\n"
        "[tenant_tiers.premium]\n"
        "crypto_rate = 10000\n"
    )
    settings = captured_settings("--config", str(config))
    assert settings.default_tenant_tier == "small"
    small = settings.tenant_tiers["small"]
    assert (small.read_rate, small.max_secrets) == (20.0, 100)
    assert small.write_rate == BUILTIN_TIERS[STANDARD].write_rate
    assert settings.tenant_tiers["premium"].crypto_rate == 10_000.0


def test_tiers_from_a_flag_and_from_the_environment(captured_settings: Any) -> None:
    flagged = captured_settings("--tenant-tiers", '{"tiny": {"write_rate": 2}}')
    assert flagged.tenant_tiers["tiny"].write_rate == 2.0
    from_env = captured_settings(
        env={
            "STRONGROOM_SERVER_TENANT_TIERS": '{"tiny": {"write_rate": 3}}',
            "STRONGROOM_SERVER_DEFAULT_TENANT_TIER": "tiny",
        }
    )
    assert from_env.default_tenant_tier == "tiny"
    assert from_env.tenant_tiers["tiny"].write_rate == 3.0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--tenant-tiers", "{"), "must be a JSON object"),
        (("--tenant-tiers", '{"tiny": 3}'), "must map each tier to a table"),
        (("--tenant-tiers", '{"tiny": {"speed": 3}}'), "unknown quota setting(s): speed"),
        (("--tenant-tiers", '{"tiny": {"read_rate": -3}}'), "read_rate must be a positive"),
        (("--default-tenant-tier", "gold"), "'gold' is not one of the tiers"),
    ],
)
def test_bad_tiers_are_refused_before_the_server_starts(
    captured_settings: Any, args: tuple[str, ...], words: str
) -> None:
    result = CliRunner().invoke(main, ["server", "--dev", *args])
    assert result.exit_code == 2
    assert words in result.output
