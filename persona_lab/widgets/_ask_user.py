"""The ask-user panel: the agent's question, up to three option buttons and a free-text answer."""

from __future__ import annotations

import html
import threading
import warnings
from collections.abc import Callable

import ipywidgets as w

from persona_lab.core import AskingUser
from persona_lab.loops import MAX_OPTIONS

__all__ = ["AskUserPanel"]


class AskUserPanel(w.VBox):  # type: ignore[misc]
    """Shows one question at a time; the first answer given (button, Enter or Answer) wins.

    ``on_answer(text)`` is called once per question, possibly on a kernel thread other than the
    event loop's; it returns whether the answer was taken.
    """

    def __init__(self, on_answer: Callable[[str], bool]):
        self._on_answer = on_answer
        self._lock = threading.Lock()
        self._open = False
        self.question: AskingUser | None = None
        self.prompt = w.HTML()
        self.option_buttons: tuple[w.Button, ...] = ()
        self.options_box = w.HBox()
        self.free_text = w.Text(
            placeholder="…or type your own answer (Enter)",
            continuous_update=True,
            layout=w.Layout(flex="1 1 auto", width="auto"),
        )
        self.free_text.add_class("plab-ask-text")
        self.answer_button = w.Button(description="Answer", icon="reply")
        self.answer_button.add_class("plab-ask-answer")
        with warnings.catch_warnings():  # Enter only: a value observer would also fire when the box loses focus
            warnings.simplefilter("ignore", DeprecationWarning)
            self.free_text.on_submit(self._on_submit)
        self.answer_button.on_click(lambda _b: self.answer(self.free_text.value))
        super().__init__(
            children=(self.prompt, self.options_box, w.HBox((self.free_text, self.answer_button))),
            layout=w.Layout(display="none", border="1px solid #ef6c00", padding="6px", margin="4px 0"),
        )
        self.add_class("plab-ask")

    @property
    def is_open(self) -> bool:
        return self._open

    def show(self, question: AskingUser) -> None:
        """Display ``question`` and enable answering."""
        self.question = question
        self.prompt.value = f'<div class="plab-question">❓ {html.escape(question.question)}</div>'
        buttons = []
        for option in question.options[:MAX_OPTIONS]:
            button = w.Button(description=option, tooltip=option, button_style="info")
            button.add_class("plab-ask-option")
            button.on_click(lambda _b, option=option: self.answer(option))
            buttons.append(button)
        self.option_buttons = tuple(buttons)
        self.options_box.children = self.option_buttons
        self.free_text.value = ""
        self._set_enabled(True)
        with self._lock:
            self._open = True
        self.layout.display = "flex"

    def hide(self) -> None:
        with self._lock:
            self._open = False
        self._set_enabled(False)
        self.layout.display = "none"

    def answer(self, text: str) -> bool:
        """Answer the open question with ``text``; ``False`` if empty, closed or already answered."""
        text = text.strip()
        if not text:
            return False
        with self._lock:
            if not self._open:
                return False
            self._open = False
        self._set_enabled(False)
        taken = self._on_answer(text)
        if not taken:
            with self._lock:
                self._open = True
            self._set_enabled(True)
        return taken

    def _on_submit(self, _text: object) -> None:
        if self.free_text.value.strip():
            self.answer(self.free_text.value)

    def _set_enabled(self, enabled: bool) -> None:
        for button in (*self.option_buttons, self.answer_button):
            button.disabled = not enabled
        self.free_text.disabled = not enabled
