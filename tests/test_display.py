"""One USD formatter, file links, numeric comparison tables and the turn-log figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from persona_lab import (
    ConversationLoop,
    FixedRouter,
    Persona,
    TierRegistry,
    cost_per_turn_figure,
    format_usd,
    tier_mix_figure,
    tokens_figure,
    turn_logs_to_frame,
)
from persona_lab.bench import TABLE_COLUMNS, compare, format_table
from tests.bench_helpers import KeywordThresholdRouter, synthetic_set


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.00082, "$0.00082"), (0.000123456, "$0.00012"), (0.0123, "$0.0123"), (0.5, "$0.5000"), (1234.5, "$1,234.50"),
     (0, "$0"), (None, "unknown"), (float("nan"), "unknown"), (-0.002, "-$0.0020")],
)
def test_money_is_dollars_without_si_prefixes(value: float | None, text: str) -> None:
    assert format_usd(value) == text
    assert "μ" not in format_usd(value) and "e-" not in format_usd(value)


def test_saved_paths_show_as_links(tmp_path: Path) -> None:
    comparison = compare(synthetic_set(8, seed=3), {"keyword": KeywordThresholdRouter()}, n_boot=0)
    paths = comparison.save(tmp_path / "run", html_report=False)
    html = paths._repr_html_()
    assert "PosixPath" not in html and html.count("<a href=") == len(paths) == 7
    assert 'summary.md" target="_blank">' in html
    assert paths.link("summary_md")._repr_html_().startswith("<a href=") and paths["summary_md"].exists()


def test_the_comparison_table_holds_numbers_and_intervals_in_their_own_columns() -> None:
    comparison = compare(synthetic_set(20, turns=2, seed=1), {"keyword": KeywordThresholdRouter()}, n_boot=50)
    table = comparison.table()
    assert list(table.columns) == list(TABLE_COLUMNS)
    numeric = [c for c in TABLE_COLUMNS if c not in ("suite", "router", "evaluation")]
    assert all(pd.api.types.is_numeric_dtype(table[c]) for c in numeric)
    keyword = table[table["router"] == "keyword"].iloc[0]
    assert keyword["quality_lo"] <= keyword["quality"] <= keyword["quality_hi"]
    assert table.sort_values("cost_usd")["router"].iloc[0] == "always-weak"  # sortable: numbers, not text
    text = format_table(table)
    assert text.loc[table["router"] == "keyword", "quality"].iloc[0].count("[") == 1
    assert text["cost"].str.startswith("$").all()
    styled = comparison.styled()._repr_html_()
    assert "quality_lo" not in styled.split("<tbody>")[0] and "$" in styled


@pytest.fixture
def chatted(persona: Persona, make_tiers: object) -> tuple[ConversationLoop, object]:
    from persona_lab.tiers import ScriptedBackend

    tiers = make_tiers(small=ScriptedBackend(["Short."], cycle=True),  # type: ignore[operator]
                       frontier=ScriptedBackend(["A much longer frontier answer."], cycle=True))
    loop = ConversationLoop(persona, tiers, FixedRouter("small"))
    conversation = loop.new_conversation()
    for text in ("one", "two", "three"):
        loop.chat(conversation, text)
    return loop, conversation


def test_the_loop_and_the_conversation_keep_their_turn_logs(chatted: tuple[ConversationLoop, object]) -> None:
    loop, conversation = chatted
    by_loop, by_conversation = turn_logs_to_frame(loop), turn_logs_to_frame(conversation)
    assert len(by_loop) == len(by_conversation) == 3
    assert list(by_conversation["turn"]) == [1, 2, 3] and list(by_conversation["turn_index"]) == [0, 1, 2]
    other = loop.new_conversation()
    loop.chat(other, "four")
    assert len(turn_logs_to_frame(loop)) == 4 and len(turn_logs_to_frame(other)) == 1


def test_the_turn_log_figures_number_turns_from_one_and_format_dollars(
    chatted: tuple[ConversationLoop, object],
) -> None:
    loop, _ = chatted
    frame = turn_logs_to_frame(loop)
    fig = cost_per_turn_figure(frame)
    bars = {t.name: t for t in fig.data}
    assert list(bars["small"].x) == [1, 2, 3] and sum(bars["small"].y) > 0
    assert list(bars["cumulative"].y) == pytest.approx(list(frame["cumulative_cost_usd"]))
    assert fig.layout.yaxis.tickformat == "$,.3~r" and "s" not in fig.layout.yaxis.tickformat
    runs = pd.concat([frame.assign(run="a"), frame.assign(run="b", total_cost_usd=frame["total_cost_usd"] * 2)])
    lines = cost_per_turn_figure(runs, by="run")
    assert [t.name for t in lines.data] == ["a", "b"]
    assert list(lines.data[1].y) == pytest.approx([2 * v for v in lines.data[0].y])
    mix = tier_mix_figure(runs, by="run")
    assert [t.name for t in mix.data] == ["small"] and list(mix.data[0].x) == [100.0, 100.0]
    tokens = tokens_figure(frame)
    assert [t.name for t in tokens.data] == ["input", "output"] and list(tokens.data[0].x) == [1, 2, 3]
    with pytest.raises(KeyError, match="router"):
        cost_per_turn_figure(frame, by="router")


def test_a_loop_with_its_own_writer_says_where_its_logs_are(persona: Persona) -> None:
    from persona_lab import JsonlTurnLogWriter, UsageError

    loop = ConversationLoop(persona, TierRegistry({}), writer=JsonlTurnLogWriter("/nonexistent/x.jsonl"))
    with pytest.raises(UsageError, match="JsonlTurnLogWriter"):
        turn_logs_to_frame(loop)


def test_compare_takes_an_options_object_and_keywords_override_it() -> None:
    from persona_lab.bench import CompareOptions

    options = CompareOptions(n_boot=0, limit=5, seed=3)
    result = compare(synthetic_set(12, seed=2), {"keyword": KeywordThresholdRouter()}, options, seed=4)
    assert result.options["limit"] == 5 and result.options["n_boot"] == 0 and result.options["seed"] == 4
    assert result.turns["item_id"].nunique() == 5


async def test_compare_runs_inside_a_running_event_loop_without_a_worker_thread() -> None:
    result = compare(synthetic_set(6, seed=5), {"keyword": KeywordThresholdRouter()}, n_boot=0)
    assert len(result.table()) >= 3
