"""Conversation branching: fork at a turn, replay the rest through another loop, compare.

branch = fork(conversation, at_turn=2, persona_id=other_loop.persona.id)
run = await replay(branch, conversation, other_loop)         # or: await what_if(conversation, at_turn=2, loop=...)
view = BranchComparison(original=conversation, run=run, original_logs=writer.records)
view.frame(); view.figure(); view.widget()
"""

from persona_lab.branching._fork import Branch, BranchOrigin, fork
from persona_lab.branching._replay import BranchRun, replay, replay_sync, what_if
from persona_lab.branching._view import BRANCH_COLUMNS, BranchComparison

__all__ = [
    "BRANCH_COLUMNS",
    "Branch",
    "BranchComparison",
    "BranchOrigin",
    "BranchRun",
    "fork",
    "replay",
    "replay_sync",
    "what_if",
]
