"""One scenario × variant: the conversation (or agent run) through the real loop, graded turn by turn."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from persona_lab.core import AskingUser, Clock, PersonaLabError, TurnDone, TurnLog
from persona_lab.evaluation._expect import graders_for, named_graders
from persona_lab.evaluation._grade import Grade, Grader, GradingInput, apply_grader
from persona_lab.evaluation._records import EvaluatedTurn
from persona_lab.evaluation._scenario import Scenario
from persona_lab.evaluation._simulated import UserSimulator
from persona_lab.evaluation._variants import Variant
from persona_lab.loops import AgenticLoop, ConversationLoop, Toolbox
from persona_lab.tiers import TierRegistry

__all__ = ["PairJob", "run_pair"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PairJob:
    """Everything one scenario × variant run needs (built by :func:`evaluate`)."""

    suite: str
    scenario: Scenario
    variant: Variant
    attempt: str
    tiers: TierRegistry
    judge_tiers: TierRegistry
    toolbox: Toolbox | None = None
    graders: Sequence[Grader] = ()
    conversation_graders: Sequence[Grader] = ()
    clock: Clock | None = None
    loop_options: Mapping[str, Any] = field(default_factory=dict)
    agent_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        """The turn's metadata (the loops keep it as the turn log's labels; routers see it too)."""
        return {"suite": self.suite, "item_id": self.scenario.id, "category": self.variant.label,
                "scenario": self.scenario.id, "variant": self.variant.label, "router": self.variant.router_label}

    @property
    def conversation_id(self) -> str:
        return f"{self.suite}/{self.scenario.id}/{self.variant.label}/{self.attempt}"


async def _grade_all(named: list[tuple[str, Grader]], item: GradingInput) -> tuple[Grade, ...]:
    return tuple(await asyncio.gather(*(apply_grader(g, item, name=n) for n, g in named)))


def _input(job: PairJob, *, level: str, index: int | None, user: str, answer: str, tools: Sequence[str],
           transcript: Sequence[tuple[str, str]], log: TurnLog | None) -> GradingInput:
    return GradingInput(scenario_id=job.scenario.id, variant=job.variant.label, persona=job.variant.persona,
                        level="turn" if level == "turn" else "conversation", turn_index=index, user_text=user,
                        answer=answer, tool_calls=tuple(tools), transcript=tuple(transcript), turn_log=log)


async def run_pair(job: PairJob) -> list[EvaluatedTurn]:
    """Run and grade one pair; never raises for a failed turn (the record says ``failed``)."""
    if job.scenario.kind == "task":
        return await _run_task(job)
    return await _run_chat(job)


async def _run_chat(job: PairJob) -> list[EvaluatedTurn]:
    scenario, variant = job.scenario, job.variant
    loop = ConversationLoop(variant.persona, job.tiers, variant.router, toolbox=job.toolbox, clock=job.clock,
                            **dict(job.loop_options))
    conversation = loop.new_conversation(id=job.conversation_id)
    simulator = UserSimulator(job.tiers, scenario.simulated_user) if scenario.simulated_user else None
    metadata = job.labels
    transcript: list[tuple[str, str]] = []
    tools_used: list[str] = []
    records: list[EvaluatedTurn] = []
    failed = False
    index = 0
    while True:
        if simulator is None:
            if index >= len(scenario.turns):
                break
            text: str | None = scenario.turns[index].user
        else:
            try:
                text = await simulator.next_message(transcript)
            except PersonaLabError:
                failed = True  # the simulated user's tier failed: the conversation cannot go on
                break
        if text is None:
            break
        log: TurnLog | None = None
        answer = ""
        try:
            async for event in loop.turn(conversation, text, metadata=metadata):
                if isinstance(event, TurnDone):
                    log, answer = event.turn_log, event.answer
        except PersonaLabError:
            failed = True
        if log is None:  # refused before the turn started (a session cost cap): nothing to record
            failed = True
            break
        if failed:
            records.append(_record(job, log, answer, (), simulator, failed=True))
            break
        transcript.append((text, answer))
        turn_tools = [c.name for c in log.tool_calls]
        tools_used.extend(turn_tools)
        expect = [scenario.each_turn] + ([scenario.turns[index].expect] if simulator is None else [])
        graders = [g for e in expect for g in graders_for(e, job.judge_tiers)] + list(job.graders)
        grades = await _grade_all(named_graders(graders), _input(
            job, level="turn", index=index, user=text, answer=answer, tools=turn_tools, transcript=transcript,
            log=log))
        records.append(_record(job, log, answer, grades, simulator))
        index += 1
    if not records:
        return []
    if not failed:
        conv_graders = graders_for(scenario.expect, job.judge_tiers) + list(job.conversation_graders)
        if conv_graders:
            whole = "\n\n".join(a for _, a in transcript)
            extra = await _grade_all(named_graders(conv_graders), _input(
                job, level="conversation", index=None, user=transcript[0][0], answer=whole, tools=tools_used,
                transcript=transcript, log=records[-1].turn_log))
            last = records[-1]
            records[-1] = replace(last, grades=last.grades + extra)
    sim_cost = simulator.cost_usd if simulator else 0.0
    records[-1] = replace(records[-1], last=True, failed=failed, simulator_cost_usd=sim_cost)
    return records


def _record(job: PairJob, log: TurnLog, answer: str, grades: tuple[Grade, ...], simulator: UserSimulator | None,
            *, failed: bool = False, kind: str = "chat", run_status: str | None = None) -> EvaluatedTurn:
    return EvaluatedTurn(suite=job.suite, scenario=job.scenario.id, variant=job.variant.label,
                         router=job.variant.router_label, attempt=job.attempt, answer=answer, turn_log=log,
                         grades=grades, failed=failed, last=failed, kind=kind, run_status=run_status,
                         simulator=simulator.answered_by if simulator and simulator.replies else None)


async def _run_task(job: PairJob) -> list[EvaluatedTurn]:
    scenario, variant = job.scenario, job.variant
    agent = AgenticLoop(variant.persona, job.tiers, variant.router, toolbox=job.toolbox, clock=job.clock,
                        **dict(job.agent_options))
    answers = list(scenario.user_answers)

    async def respond(question: AskingUser) -> str:
        return answers.pop(0) if answers else "I have nothing to add; please go on with your best judgement."

    assert scenario.task is not None
    metadata = job.labels
    run = await agent.run(scenario.task, user_respond=respond, metadata=metadata, run_id=job.conversation_id)
    logs = list(run.turn_logs)
    if not logs:
        return []
    steps = {s.index: s for s in run.steps}
    records = []
    for n, log in enumerate(logs):
        step = steps.get(log.step_index if log.step_index is not None else n)
        text = step.text if step is not None else ""
        records.append(_record(job, log, text, (), None, kind="agent_step", run_status=run.status.value))
    failed = run.status.value == "error"
    grades: tuple[Grade, ...] = ()
    if not failed:
        tools = [c.name for s in run.steps for c in s.tool_calls]
        conv_graders = graders_for(scenario.expect, job.judge_tiers) + list(job.conversation_graders)
        grades = await _grade_all(named_graders(conv_graders), _input(
            job, level="conversation", index=None, user=scenario.task, answer=run.output, tools=tools,
            transcript=[(scenario.task, run.output)], log=logs[-1]))
    records[-1] = replace(records[-1], answer=run.output, grades=grades, last=True, failed=failed)
    return records
