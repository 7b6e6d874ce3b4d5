import pytest

from persona_lab import Conversation, ConversationTurn, Message, ToolCall


def test_message_round_trip() -> None:
    call = ToolCall(id="c1", name="lookup", arguments='{"q": 1}')
    msg = Message.assistant("hi", tool_calls=(call,), tier="mid", model="m")
    assert Message.from_dict(msg.to_dict()) == msg
    assert msg.tokens > 0


def test_tool_call_arguments_errors_name_the_tool() -> None:
    with pytest.raises(ValueError, match=r"lookup.*not valid JSON"):
        ToolCall(id="c1", name="lookup", arguments="{not json").parsed_arguments()
    with pytest.raises(ValueError, match="JSON object"):
        ToolCall(id="c1", name="lookup", arguments="[1, 2]").parsed_arguments()
    assert ToolCall(id="c1", name="lookup", arguments="").parsed_arguments() == {}


def test_conversation_commit_and_round_trip() -> None:
    conv = Conversation(persona_id="p")
    turn = ConversationTurn(
        index=0, messages=(Message.user("q"), Message.assistant("a")), tier="small", cost_usd=0.1, tokens=10
    )
    conv.commit_turn(turn, added_cost_usd=0.1)
    assert conv.previous_tiers == ("small",)
    assert conv.turns[0].answer == "a" and conv.turns[0].user_text == "q"
    with pytest.raises(ValueError, match="does not follow"):
        conv.commit_turn(turn)
    again = Conversation.from_dict(conv.to_dict())
    assert again.turns == conv.turns and again.cost_usd == pytest.approx(0.1)
    with pytest.raises(ValueError):
        conv.commit_summary("s", 5)
