"""The player's widgets: Play, Step back / Step forward and a slider, over the caption,
the diagram and the panels.

A :class:`PlayerWidget` follows its player (it observes it), so moving the player
from Python, with the buttons, the slider or the Play widget shows the same step.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets

from ..i18n import _


class Playable(Protocol):
    """What the widgets read of a player (:class:`course.player.Player` is one)."""

    hops: list[Any]
    interval: int

    @property
    def step(self) -> int: ...
    def __len__(self) -> int: ...
    def go(self, number: int) -> Any: ...
    def next(self) -> Any: ...
    def previous(self) -> Any: ...
    def observe(self, callback: Callable[[int], None]) -> None: ...
    def caption(self, step: int | None = None) -> str: ...
    def diagram_html(self) -> str: ...
    def panels_html(self) -> str: ...


class PlayerWidget(ipywidgets.VBox):
    """The controls on top (``play``, ``back``, ``slider``, ``forward``), then ``caption``,
    ``diagram`` and ``panels``; for an empty flow, the caption alone."""

    def __init__(self, player: Playable) -> None:
        self.player = player
        self.caption = ipywidgets.HTML()
        self.diagram = ipywidgets.HTML()
        self.panels = ipywidgets.HTML()
        self.play = self.slider = self.back = self.forward = None
        self._showing = False
        if not player.hops:
            super().__init__([self.caption])
        else:
            super().__init__([self._controls(), self.caption, self.diagram, self.panels])
        player.observe(self.show)
        self.show(player.step)

    def _controls(self) -> ipywidgets.HBox:
        count, step = len(self.player), self.player.step
        self.play = ipywidgets.Play(value=step, min=1, max=count,
                                    interval=self.player.interval, tooltip=_("Play"),
                                    show_repeat=False)
        self.slider = ipywidgets.IntSlider(value=step, min=1, max=count,
                                           description=_("Step"), continuous_update=False)
        self.back = ipywidgets.Button(description=_("◀ Step back"), tooltip=_("Step back"))
        self.forward = ipywidgets.Button(description=_("Step forward ▶"),
                                         tooltip=_("Step forward"))
        self.back.on_click(lambda _button: self.player.previous())
        self.forward.on_click(lambda _button: self.player.next())
        ipywidgets.jslink((self.play, "value"), (self.slider, "value"))
        self.slider.observe(self._on_slider, names="value")
        return ipywidgets.HBox([self.play, self.back, self.slider, self.forward])

    def _on_slider(self, change: dict) -> None:
        if not self._showing:  # the Play widget moves the slider (through jslink)
            self.player.go(change["new"])

    def show(self, step: int) -> None:
        """Show ``step`` (the player's current one): controls, caption, diagram, panels."""
        self._showing = True
        try:
            for control in (self.slider, self.play):
                if control is not None:
                    control.value = step
            self.caption.value = f"<b>{html.escape(self.player.caption())}</b>"
            self.diagram.value = self.player.diagram_html()
            self.panels.value = self.player.panels_html()
        finally:
            self._showing = False
