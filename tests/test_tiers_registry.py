import pytest

from persona_lab import ConfigError, TierNotConfigured, UnknownTier
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, Secret, TierConfig, TierRegistry

KEY = "sk-test-DO-NOT-LEAK-1234567890"


def test_global_variables_configure_every_tier() -> None:
    reg = TierRegistry.from_env(
        {"PERSONA_PROVIDER": "openai", "PERSONA_MODEL": "gpt-4o-mini", "PERSONA_API_KEY": KEY}, local_default=False
    )
    assert reg.configured == ("small", "mid", "frontier")
    assert reg.config("mid").primary.model == "gpt-4o-mini"
    assert reg.config("mid").primary.context_window == 128_000  # from the offline price list


def test_tier_specific_variables_override_the_global_ones() -> None:
    env = {
        "PERSONA_PROVIDER": "openai",
        "PERSONA_MODEL": "gpt-4o-mini",
        "PERSONA_API_KEY": KEY,
        "PERSONA_FRONTIER_PROVIDER": "anthropic",
        "PERSONA_FRONTIER_MODEL": "claude-3-5-sonnet-latest",
        "PERSONA_FRONTIER_MAX_OUTPUT_TOKENS": "2048",
        "PERSONA_FRONTIER_FALLBACK_MODELS": "openai/gpt-4o",
    }
    reg = TierRegistry.from_env(env, local_default=False)
    frontier = reg.config("frontier")
    assert frontier.primary.provider == "anthropic" and frontier.primary.max_output_tokens == 2048
    assert [m.ref for m in frontier.models] == ["anthropic/claude-3-5-sonnet-latest", "openai/gpt-4o"]


def test_half_configured_tier_names_the_missing_variable() -> None:
    with pytest.raises(ConfigError, match="PERSONA_MID_PROVIDER") as info:
        TierRegistry.from_env({"PERSONA_MID_MODEL": "gpt-4o"}, local_default=False)
    assert "PERSONA_MID_MODEL" in str(info.value)


def test_missing_api_key_is_named() -> None:
    with pytest.raises(ConfigError, match="PERSONA_SMALL_API_KEY"):
        TierRegistry.from_env(
            {"PERSONA_SMALL_PROVIDER": "openai", "PERSONA_SMALL_MODEL": "gpt-4o-mini"}, local_default=False
        )


def test_sdk_key_variable_is_accepted_and_base_url_needs_no_key() -> None:
    env = {"PERSONA_SMALL_PROVIDER": "openai", "PERSONA_SMALL_MODEL": "gpt-4o-mini", "OPENAI_API_KEY": KEY}
    assert TierRegistry.from_env(env, local_default=False).is_configured("small")
    local = {
        "PERSONA_SMALL_PROVIDER": "openai",
        "PERSONA_SMALL_MODEL": "qwen",
        "PERSONA_SMALL_BASE_URL": "http://127.0.0.1:8080/v1",
    }
    reg = TierRegistry.from_env(local, local_default=False)
    assert reg.info("small").local and reg.info("small").price_source == "unknown"


def test_bad_number_names_the_variable() -> None:
    env = {
        "PERSONA_PROVIDER": "openai",
        "PERSONA_MODEL": "m",
        "PERSONA_API_KEY": KEY,
        "PERSONA_MID_CONTEXT_WINDOW": "lots",
    }
    with pytest.raises(ConfigError, match="PERSONA_MID_CONTEXT_WINDOW='lots'"):
        TierRegistry.from_env(env, local_default=False)


def test_price_override_needs_both_prices() -> None:
    env = {
        "PERSONA_PROVIDER": "openai",
        "PERSONA_MODEL": "m",
        "PERSONA_API_KEY": KEY,
        "PERSONA_SMALL_INPUT_PRICE": "0.1",
    }
    with pytest.raises(ConfigError, match="OUTPUT_PRICE"):
        TierRegistry.from_env(env, local_default=False)


def test_nothing_configured_is_an_empty_registry_that_explains_itself() -> None:
    reg = TierRegistry.from_env({}, local_default=False)
    assert reg.configured == ()
    with pytest.raises(TierNotConfigured, match="PERSONA_PROVIDER"):
        reg.nearest("mid")
    assert "unconfigured" in reg.describe()


def test_unknown_tier_names() -> None:
    with pytest.raises(UnknownTier, match="'huge'"):
        TierRegistry({"huge": ModelConfig("openai", "m")})
    reg = TierRegistry({"small": ModelConfig("openai", "m")})
    with pytest.raises(UnknownTier):
        reg.nearest("medium")


def test_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'acme'"):
        TierRegistry({"small": ModelConfig("acme", "m")})


@pytest.mark.parametrize(
    ("configured", "requested", "expected"),
    [
        ({"small", "mid", "frontier"}, "frontier", ("frontier", "mid", "small")),
        ({"small", "frontier"}, "frontier", ("frontier", "small")),
        ({"small", "mid"}, "frontier", ("mid", "small")),
        ({"mid", "frontier"}, "small", ("mid", "frontier")),
        ({"small", "frontier"}, "mid", ("frontier", "small")),
    ],
)
def test_fallback_goes_to_the_nearest_configured_tier(
    configured: set[str], requested: str, expected: tuple[str, ...]
) -> None:
    reg = TierRegistry({t: ModelConfig("openai", f"{t}-m") for t in configured})
    assert reg.fallback_chain(requested) == expected
    assert reg.nearest(requested) == expected[0]


def test_candidates_list_each_tiers_models_in_order() -> None:
    reg = TierRegistry(
        {
            "small": TierConfig.of(ModelConfig("openai", "a"), ModelConfig("anthropic", "b")),
            "mid": ModelConfig("openai", "c"),
        }
    )
    assert [(t, m.model) for t, m in reg.candidates("small")] == [("small", "a"), ("small", "b"), ("mid", "c")]


def test_keys_never_show_in_reprs() -> None:
    config = ModelConfig("openai", "gpt-4o", api_key=KEY)
    reg = TierRegistry({"mid": config})
    for text in (
        repr(config),
        str(config),
        repr(reg),
        reg.describe(),
        repr(config.api_key),
        repr(TierConfig.of(config)),
    ):
        assert KEY not in text
    assert isinstance(config.api_key, Secret) and config.api_key.reveal() == KEY


def test_backends_are_built_lazily_cached_and_closed() -> None:
    import asyncio

    reg = TierRegistry({"mid": ModelConfig("openai", "gpt-4o", api_key=KEY)})
    config = reg.config("mid").primary
    backend = reg.backend(config)
    assert reg.backend(config) is backend
    asyncio.run(reg.aclose())
    assert reg.backend(config) is not backend


def test_injected_backend_is_used_and_info_has_prices() -> None:
    scripted = ScriptedBackend(["x"])
    reg = TierRegistry({"small": ModelConfig("scripted", "s", backend=scripted, price=Price(0.5, 1.5))})
    assert reg.backend(reg.config("small").primary) is scripted
    info = reg.infos()["small"]
    assert (info.input_per_mtok, info.output_per_mtok, info.price_source) == (0.5, 1.5, "override")
    assert info.estimated_cost(1_000_000, 0) == pytest.approx(0.5)


def test_model_config_rejects_impossible_budget() -> None:
    with pytest.raises(ValueError, match="context_window"):
        ModelConfig("openai", "m", context_window=100, max_output_tokens=200)
