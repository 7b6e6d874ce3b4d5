"""The agreement verifier: accept an answer when other answers to the same prompt reach the same final answer.

Offline the peers are other recorded answers (e.g. the cheaper tiers a cascade already paid
for); live, :class:`AgreementVerifier` asks ``peer_tier`` (default: the same tier again, at
``temperature``) for ``samples`` more answers through the tiers API and pays for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from persona_lab.core import (
    ChatRequest,
    Message,
    ProviderError,
    RouterError,
    RoutingContext,
    Usage,
    check_tiers,
    estimate_tokens,
    fold_stream,
)
from persona_lab.routers._answer_verifiers import AnswerScore, AnswerVerifier
from persona_lab.routers._final_answer import ANSWER_KINDS, final_answer
from persona_lab.routers._verifiers import Check
from persona_lab.tiers import TierRegistry

__all__ = ["AgreementVerifier"]


class AgreementVerifier(AnswerVerifier):
    """Score = share of peer answers whose final answer equals this answer's.

    Parameters
    ----------
    kind:
        Which final answer to compare (see :func:`~persona_lab.routers.final_answer`).
    threshold:
        Accept when at least this share of the peers agree (default 1.0: all of them).
    tiers, peer_tier, samples, temperature, max_output_tokens:
        Live runs: ask ``peer_tier`` (None: the tier that answered) ``samples`` times for a
        second answer. Without ``tiers`` the peers must be passed to :meth:`score`.
    """

    def __init__(
        self,
        *,
        kind: str = "auto",
        threshold: float = 1.0,
        tiers: TierRegistry | None = None,
        peer_tier: str | None = None,
        samples: int = 1,
        temperature: float = 0.7,
        max_output_tokens: int = 1024,
    ):
        self.kind = kind
        self.threshold = threshold
        self.tiers = tiers
        self.peer_tier = peer_tier
        self.samples = samples
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        if kind not in ANSWER_KINDS:
            raise RouterError(f"AgreementVerifier: kind must be one of {', '.join(ANSWER_KINDS)}, got {kind!r}")
        if peer_tier is not None:
            check_tiers((peer_tier,), where="AgreementVerifier peer_tier")
        if samples < 1:
            raise RouterError(f"AgreementVerifier: samples must be at least 1, got {samples}")

    def __sklearn_clone__(self) -> AgreementVerifier:
        """Clones share the registry: an injected collaborator, not a value."""
        return type(self)(**self.get_params(deep=False))

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        if not peers:
            raise RouterError("AgreementVerifier needs peer answers: pass peers (offline) or tiers= (live)")
        mine = final_answer(answer, self.kind)
        if mine is None:
            return AnswerScore(score=0.0, reason="no parseable final answer", status="no_answer")
        theirs = [final_answer(p, self.kind) for p in peers]
        agree = sum(1 for t in theirs if t == mine)
        return AnswerScore(score=agree / len(theirs),
                           reason=f"{agree}/{len(theirs)} peers agree on {mine!r}")

    async def _peers(self, context: RoutingContext, tier: str, answer: str) -> tuple[list[str], Check | None]:
        if self.tiers is None:
            raise RouterError("AgreementVerifier has no tiers to ask for a second answer (pass tiers=)")
        target = self.peer_tier or tier
        texts: list[str] = []
        cost = 0.0
        priced = False
        input_tokens = output_tokens = 0
        for _ in range(self.samples):
            errors: list[str] = []
            for _name, model in self.tiers.candidates(target):
                request = ChatRequest(
                    model=model.model, system="", messages=(Message.user(context.message),),
                    max_output_tokens=min(self.max_output_tokens, model.max_output_tokens),
                    temperature=self.temperature,
                )
                try:
                    completion = await fold_stream(self.tiers.backend(model).stream(request))
                except ProviderError as exc:
                    errors.append(f"{model.model}: {exc}")
                    continue
                usage = completion.usage
                if usage.input_tokens is None or usage.output_tokens is None:
                    usage = Usage(
                        input_tokens=sum(m.tokens for m in request.messages),
                        output_tokens=estimate_tokens(completion.text),
                    )
                input_tokens += usage.input_tokens or 0
                output_tokens += usage.output_tokens or 0
                paid = self.tiers.prices.cost(model, usage).usd
                if paid is not None:
                    cost += paid
                    priced = True
                texts.append(completion.text)
                break
            else:
                raise RouterError(f"no peer answer from {target} ({'; '.join(errors) or 'no model'})")
        return texts, Check(True, "peers", cost if priced else None, input_tokens, output_tokens)
