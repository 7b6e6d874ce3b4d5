# The three user stories with the API as it was before issue 15 (still runs: nothing was removed).
import plotly.express as px

from persona_lab import (
    ConversationLoop,
    FixedRouter,
    InMemoryTurnLogWriter,
    ModelConfig,
    Persona,
    Price,
    ScriptedBackend,
    TierRegistry,
    turn_logs_to_frame,
)
from persona_lab.bench import compare

# 1. prototype a persona: chat with it on a scripted model (a test double), priced by hand
persona = Persona.from_yaml("examples/personas/tenancy_advisor.yaml")
backend = ScriptedBackend(["Your deposit must be protected within 30 days."], cycle=True)
tiers = TierRegistry({"mid": ModelConfig(provider="scripted", model="scripted-mid", price=Price(0.4, 1.6),
                                         backend=backend)})
writer = InMemoryTurnLogWriter()
loop = ConversationLoop(persona, tiers, FixedRouter("mid"), writer=writer)
conversation = loop.new_conversation()
for text in ("Is my deposit protected?", "What if it is not?"):
    print(loop.chat(conversation, text).answer)
# 2. cost per turn
frame = turn_logs_to_frame(writer.records)
px.bar(frame.assign(turn=frame["turn_index"] + 1), x="turn", y="total_cost_usd", color="tier").write_html(
    "runs/user_stories_before.html")
# 3. compare routers on a benchmark set
comparison = compare("mt_bench", limit=20, n_boot=0)
print(comparison.table())
