"""Fewer concepts before a first answer: scripted tiers in one call, "provider/model" names, priced-as."""

from __future__ import annotations

import pytest

from persona_lab import ConfigError, ConversationLoop, FixedRouter, ModelConfig, Persona, TierRegistry
from persona_lab.tiers import PriceBook, ScriptedBackend


def test_scripted_tiers_in_one_call_answer_in_turn_and_are_labelled_test_doubles(persona: Persona) -> None:
    tiers = TierRegistry.scripted({"small": ["one", "two"], "frontier": "always this"})
    assert tiers.configured == ("small", "frontier")
    described = tiers.describe()
    assert "scripted/scripted-small" in described and described.count("test double") == 2
    loop = ConversationLoop(persona, tiers, FixedRouter("small"))
    conversation = loop.new_conversation()
    answers = [loop.chat(conversation, text).answer for text in ("a", "b", "c")]
    assert answers == ["one", "two", "one"]  # cycles
    assert loop.chat(conversation, "d").turn_log.gen_ai_request_model == "scripted-small"
    assert conversation.turn_logs[0].price_source == "unknown"  # not priced: cost unknown, not $0


def test_scripted_tiers_priced_as_an_api_model_cost_what_that_model_would(persona: Persona) -> None:
    tiers = TierRegistry.scripted({"mid": lambda request: "x" * 400}, priced_as="openai/gpt-4.1-mini")
    assert "priced as openai/gpt-4.1-mini" in tiers.describe()
    loop = ConversationLoop(persona, tiers)
    log = loop.chat(loop.new_conversation(), "hello").turn_log
    list_price, source = PriceBook().price_of(ModelConfig.of("openai/gpt-4.1-mini"))
    assert source == "genai-prices" and list_price is not None
    expected = (log.gen_ai_usage_input_tokens * list_price.input_per_mtok
                + log.gen_ai_usage_output_tokens * list_price.output_per_mtok) / 1e6
    assert log.price_source == "priced-as" and log.cost_usd == pytest.approx(expected) and expected > 0


def test_priced_as_beats_a_compute_time_price() -> None:
    local = ModelConfig(provider="llama-cpp", model="tiny", usd_per_hour=0.0, priced_as="openai/gpt-4.1-nano",
                        backend=ScriptedBackend(["x"]))
    price, source = PriceBook().price_of(local)
    assert source == "priced-as" and price is not None and price.output_per_mtok > 0


def test_model_names_as_provider_slash_model_strings() -> None:
    tiers = TierRegistry({"small": "openai/gpt-4.1-nano", "frontier": ["anthropic/claude-3-5-haiku-latest",
                                                                       "vllm/meta-llama/Llama-3-70b"]})
    assert tiers.config("small").primary == ModelConfig(provider="openai", model="gpt-4.1-nano")
    assert [m.ref for m in tiers.config("frontier").models] == [
        "anthropic/claude-3-5-haiku-latest", "vllm/meta-llama/Llama-3-70b"]
    assert ModelConfig.of("openai/gpt-4.1", max_output_tokens=64).max_output_tokens == 64
    with pytest.raises(ConfigError, match="provider/model"):
        TierRegistry({"small": "gpt-4.1-nano"})


async def test_the_local_model_behind_every_tier_loads_once_and_is_priced_as_api_models() -> None:
    pytest.importorskip("llama_cpp")
    tiers = TierRegistry.local(priced_as={"small": "openai/gpt-4.1-nano", "frontier": "openai/gpt-4.1"},
                               max_output_tokens=16)
    small, frontier = tiers.config("small").primary, tiers.config("frontier").primary
    assert tiers.backend(small) is tiers.backend(frontier)  # one model in memory
    assert tiers.info("small").price_source == "priced-as"
    assert tiers.info("frontier").output_per_mtok > tiers.info("small").output_per_mtok  # type: ignore[operator]
    assert "priced as openai/gpt-4.1-nano" in tiers.describe()
    await tiers.aclose()
