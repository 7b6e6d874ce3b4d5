import asyncio

from persona_lab import Toolbox, ToolCall, tool


@tool
def deadline_calculator(days: int, start: str = "today") -> str:
    """Work out a deadline.

    Args:
        days: how many days from the start
        start: the start date
    """
    return f"{days} days from {start}"


@tool(name="lookup_statute")
async def lookup(statute: str) -> dict[str, str]:
    """Find a statute's summary."""
    if statute == "boom":
        raise RuntimeError("index offline")
    return {"statute": statute, "summary": "..."}


def test_schema_comes_from_signature_and_docstring() -> None:
    assert deadline_calculator.description == "Work out a deadline."
    params = deadline_calculator.parameters
    assert params["required"] == ["days"]
    assert params["properties"]["days"] == {"type": "integer", "description": "how many days from the start"}
    assert params["additionalProperties"] is False
    assert lookup.name == "lookup_statute"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_valid_call_sync_and_async() -> None:
    box = Toolbox([deadline_calculator, lookup])
    ok = run(box.execute(ToolCall(id="1", name="deadline_calculator", arguments='{"days": 14}')))
    assert (ok.content, ok.is_error) == ("14 days from today", False)
    as_json = run(box.execute(ToolCall(id="2", name="lookup_statute", arguments='{"statute": "LTA 1985"}')))
    assert '"statute": "LTA 1985"' in as_json.content


def test_bad_arguments_and_exceptions_become_readable_errors() -> None:
    box = Toolbox([deadline_calculator, lookup])
    not_json = run(box.execute(ToolCall(id="1", name="deadline_calculator", arguments="{days: 14")))
    assert not_json.is_error and "not valid JSON" in not_json.content
    wrong_type = run(box.execute(ToolCall(id="1", name="deadline_calculator", arguments='{"days": "soon"}')))
    assert wrong_type.is_error and "days" in wrong_type.content
    extra = run(box.execute(ToolCall(id="1", name="deadline_calculator", arguments='{"days": 1, "colour": "red"}')))
    assert extra.is_error and "colour" in extra.content
    raised = run(box.execute(ToolCall(id="1", name="lookup_statute", arguments='{"statute": "boom"}')))
    assert raised.is_error and "RuntimeError: index offline" in raised.content
    unknown = run(box.execute(ToolCall(id="1", name="nope", arguments="{}")))
    assert unknown.is_error and "unknown tool 'nope'" in unknown.content


def test_repeated_failing_call_is_not_run_again() -> None:
    calls = []

    @tool
    def flaky(x: int) -> str:
        """Fails."""
        calls.append(x)
        raise ValueError("bad x")

    box = Toolbox([flaky])
    cache: dict = {}
    first = run(box.execute(ToolCall(id="1", name="flaky", arguments='{"x": 1}'), error_cache=cache))
    second = run(box.execute(ToolCall(id="2", name="flaky", arguments='{ "x" : 1 }'), error_cache=cache))
    assert calls == [1]
    assert first.is_error and second.is_error and second.cached and "not run again" in second.content


def test_allow_list_filters_tools() -> None:
    box = Toolbox([deadline_calculator, lookup]).allowed(["lookup_statute"])
    assert box.names == ("lookup_statute",)
    assert [s.name for s in box.specs()] == ["lookup_statute"]
