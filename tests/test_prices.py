import pytest

from persona_lab.core import Usage
from persona_lab.tiers import ModelConfig, Price, PriceBook


def test_known_model_is_priced_offline() -> None:
    cost = PriceBook().cost(
        ModelConfig("openai", "gpt-4o-mini"), Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    )
    assert cost.source == "genai-prices"
    assert cost.usd == pytest.approx(0.15 + 0.60)


def test_cache_reads_use_the_cache_price() -> None:
    book = PriceBook()
    full = book.cost(ModelConfig("openai", "gpt-4o-mini"), Usage(input_tokens=1_000_000, output_tokens=0)).usd
    cached = book.cost(
        ModelConfig("openai", "gpt-4o-mini"),
        Usage(input_tokens=1_000_000, output_tokens=0, cache_read_input_tokens=1_000_000),
    ).usd
    assert cached is not None and full is not None and cached < full


def test_override_wins() -> None:
    cost = PriceBook().cost(
        ModelConfig("openai", "gpt-4o-mini", price=Price(2.0, 4.0)), Usage(input_tokens=500_000, output_tokens=250_000)
    )
    assert (cost.usd, cost.source) == (pytest.approx(2.0), "override")


def test_unknown_model_costs_none_not_an_exception() -> None:
    cost = PriceBook().cost(ModelConfig("openai", "my-finetune-xyz"), Usage(input_tokens=10, output_tokens=10))
    assert (cost.usd, cost.source) == (None, "unknown")
    local = PriceBook().cost(
        ModelConfig("openai", "gpt-4o", base_url="http://127.0.0.1:1/v1"), Usage(input_tokens=10, output_tokens=10)
    )
    assert local.source == "genai-prices"  # an OpenAI model name behind a proxy is still priced


def test_local_compute_time_pricing() -> None:
    cost = PriceBook().cost(
        ModelConfig("llama-cpp", "smol", usd_per_hour=3.6), Usage(input_tokens=10, output_tokens=10), duration_s=2.0
    )
    assert (cost.usd, cost.source) == (pytest.approx(0.002), "compute-time")


def test_usage_adds_missing_counts_as_none() -> None:
    assert Usage(input_tokens=1, output_tokens=None) + Usage(input_tokens=2, output_tokens=None) == Usage(
        input_tokens=3, output_tokens=None, cache_read_input_tokens=None
    )
    assert Usage(input_tokens=1, output_tokens=2).total_tokens == 3
