# The three user stories with the API after issue 15.
from persona_lab import CompareOptions, ConversationLoop, Persona, TierRegistry, compare, cost_per_turn_figure

# 1. prototype a persona: chat with it on a scripted model (a test double), priced as an API model
persona = Persona.from_yaml("examples/personas/tenancy_advisor.yaml")
answers = {"mid": "Your deposit must be protected within 30 days."}
tiers = TierRegistry.scripted(answers, priced_as="openai/gpt-4.1-mini")
loop = ConversationLoop(persona, tiers)
conversation = loop.new_conversation()
for text in ("Is my deposit protected?", "What if it is not?"):
    print(loop.chat(conversation, text).answer)
# 2. cost per turn (the loop kept the turn logs)
cost_per_turn_figure(loop).write_html("runs/user_stories_after.html")
# 3. compare routers on a benchmark set
comparison = compare("mt_bench", options=CompareOptions(limit=20, n_boot=0))
print(comparison.table().sort_values("cost_usd"))
