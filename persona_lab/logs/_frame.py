"""Turn logs as a tidy pandas DataFrame: one row per turn, declared columns and dtypes.

A turn log's ``labels`` and ``scores`` are flattened: the labels ``suite``, ``item_id`` and
``category`` and the score ``score`` (what the benchmark sets) are declared columns of their
own; every other label ``k`` becomes a ``label_<k>`` column and every other score ``k`` a
``score_<k>`` column (string and float64), after the declared ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from persona_lab.core import TurnLog

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TURN_LOG_COLUMNS", "Column", "turn_logs_to_frame"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    dtype: str
    doc: str
    get: Callable[[TurnLog], Any]


def _field(name: str) -> Callable[[TurnLog], Any]:
    return lambda r: getattr(r, name)


def _label(name: str) -> Callable[[TurnLog], Any]:
    return lambda r: r.labels.get(name)


def _score(name: str) -> Callable[[TurnLog], Any]:
    return lambda r: r.scores.get(name)


_LABEL_COLUMNS = ("suite", "item_id", "category")
_SCORE_COLUMNS = ("score",)


_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("conversation_id", "string", "conversation (or agent run's conversation) id"),
    ("turn_index", "Int64", "0, 1, 2… within the conversation (the ``turn`` column numbers from 1)"),
    ("timestamp", "datetime64[ns, UTC]", "when the turn started"),
    ("kind", "string", "chat or agent_step"),
    ("user_text", "string", "the user's message (agent steps: the task), cut to 4,000 characters"),
    ("run_id", "string", "agent run id (agent steps only)"),
    ("step_index", "Int64", "step within the agent run"),
    ("persona_id", "string", "persona that answered"),
    ("router_name", "string", "router that chose the tier"),
    ("requested_tier", "string", "the router's choice"),
    ("tier", "string", "the tier that produced the accepted answer (missing if the turn failed)"),
    ("decision_reason", "string", "the router's short rationale"),
    ("fallback_from", "string", "tier fallen back from, if any"),
    ("fallback_to", "string", "tier fallen back to, if any"),
    ("fallback_reason", "string", "why the fallback happened"),
    ("gen_ai_provider_name", "string", "OTel gen_ai.provider.name"),
    ("gen_ai_request_model", "string", "OTel gen_ai.request.model"),
    ("gen_ai_response_model", "string", "OTel gen_ai.response.model"),
    ("gen_ai_usage_input_tokens", "Int64", "OTel gen_ai.usage.input_tokens, all paid attempts"),
    ("gen_ai_usage_output_tokens", "Int64", "OTel gen_ai.usage.output_tokens, all paid attempts"),
    ("gen_ai_usage_cache_read_input_tokens", "Int64", "OTel gen_ai.usage.cache_read.input_tokens"),
    ("gen_ai_response_time_to_first_chunk", "float64", "OTel gen_ai.response.time_to_first_chunk (s)"),
    ("ttft_s", "float64", "turn start to first answer text (s)"),
    ("latency_s", "float64", "turn start to the end of the answer, tools and reviews included (s)"),
    ("writeback_s", "float64", "after the answer: memory write, commit, compaction, log write (s)"),
    ("cost_usd", "float64", "answer attempts' cost (NaN when a price is unknown)"),
    ("total_cost_usd", "float64", "cost_usd plus compaction and review calls"),
    ("price_source", "string", "override, genai-prices, compute-time, recorded or unknown"),
    ("tokens_estimated", "bool", "True when token counts were estimated offline"),
    ("prompt_tokens_estimate", "Int64", "estimated tokens of the whole prompt before fitting"),
    ("memory_hits", "Int64", "memories retrieved for the turn"),
    ("answer_chars", "Int64", "characters of the accepted answer"),
    ("error", "string", "error message when the turn failed"),
    ("error_type", "string", "error class when the turn failed"),
)
_LABELS: tuple[tuple[str, str, str], ...] = (
    ("suite", "string", "label 'suite': benchmark suite (benchmark runs)"),
    ("item_id", "string", "label 'item_id': benchmark item id"),
    ("category", "string", "label 'category': benchmark item category"),
)

TURN_LOG_COLUMNS: tuple[Column, ...] = (
    *(Column(name, dtype, doc, _field(name)) for name, dtype, doc in _COLUMNS),
    *(Column(name, dtype, doc, _label(name)) for name, dtype, doc in _LABELS),
    Column("score", "float64", "score 'score': the item's recorded score for the answering model", _score("score")),
    Column("n_tool_calls", "Int64", "tool calls made in the turn", lambda r: len(r.tool_calls)),
    Column("n_attempts", "Int64", "model calls (failed, escalated and accepted)", lambda r: len(r.attempts)),
    Column("n_compactions", "Int64", "history summarisation calls", lambda r: len(r.compactions)),
    Column("compaction_cost_usd", "float64", "cost of summarisation calls", lambda r: r.compaction_cost_usd),
    Column(
        "fell_back", "bool", "the answering tier differs from the router's choice", lambda r: r.fallback_to is not None
    ),
)
"""Every column of :func:`turn_logs_to_frame`, with its dtype and meaning."""


def turn_logs_to_frame(source: Iterable[TurnLog] | str | Path | Any) -> pd.DataFrame:
    """Turn logs as a DataFrame, one row per turn.

    ``source``: records, a writer, a JSONL path, or anything keeping ``turn_logs`` (a
    ``ConversationLoop`` with its default writer, a ``Conversation``, a ``Run``, a chat or run widget).
    Columns are :data:`TURN_LOG_COLUMNS`, then ``turn`` (the turn number from 1, as tables and
    charts show it: ``turn_index + 1``) and ``cumulative_cost_usd`` (running total of
    ``total_cost_usd`` within each conversation, unknown costs counted as 0), then a
    ``label_<k>`` / ``score_<k>`` column for every other label and score the records carry.
    """
    import pandas as pd

    if isinstance(source, (str, Path)):
        from persona_lab.logs._writers import read_turn_logs

        records = read_turn_logs(source)
    elif hasattr(source, "turn_logs"):
        records = list(source.turn_logs)
    else:
        records = list(source)
    data = {c.name: [c.get(r) for r in records] for c in TURN_LOG_COLUMNS}
    frame = pd.DataFrame(data)
    for c in TURN_LOG_COLUMNS:
        if c.dtype.startswith("datetime"):
            frame[c.name] = pd.to_datetime(frame[c.name], utc=True, format="ISO8601")
        else:
            frame[c.name] = frame[c.name].astype(c.dtype)  # type: ignore[call-overload]
    frame["turn"] = (frame["turn_index"] + 1).astype("Int64")
    costs = frame["total_cost_usd"].fillna(0.0)
    frame["cumulative_cost_usd"] = costs.groupby(frame["conversation_id"], sort=False).cumsum().astype("float64")
    extra_labels = sorted({k for r in records for k in r.labels} - set(_LABEL_COLUMNS))
    extra_scores = sorted({k for r in records for k in r.scores} - set(_SCORE_COLUMNS))
    for key in extra_labels:
        frame[f"label_{key}"] = pd.Series([r.labels.get(key) for r in records], dtype="string")
    for key in extra_scores:
        frame[f"score_{key}"] = pd.Series([r.scores.get(key) for r in records], dtype="float64")
    return frame
