"""A drop-down menu whose choices the app changes per visitor (the examples, the ARC tasks, the shipped models).

Gradio checks a menu's value against the choices the server remembers for that visitor's session, and raises a
bare "Value ... is not in the list of choices" on every event that reads the menu when they disagree. They do after
the server lets a session go (``state_session_capacity``, or an hour after the page lost its connection): the new
session remembers the choices the page was built with (the Sudoku examples, no ARC task), not those on screen, and
ARC mode would refuse every edit and Run. So this menu takes any value, and the handlers that read it check it
against the task's real choices themselves, with a message that names it (input_handlers.py, handlers.py).
The browser shows the same drop-down as gr.Dropdown (no free text: ``allow_custom_value`` stays off).
"""
from __future__ import annotations

import gradio as gr


class Menu(gr.Dropdown):
    is_template = True          # drawn by the browser as its parent, gr.Dropdown

    def preprocess(self, payload: str | None) -> str | None:
        return payload if isinstance(payload, str) and payload else None

    def _warn_if_invalid_choice(self, value) -> None:
        """A value outside the session's remembered choices is expected here (see above); no warning."""
