"""The conversation settings dialog and the Playground's parameters take every sampling box from
the one table of sampling fields: the same range, step, decimals, name and hint in both, so a
value one lets a user set, the other (and the command line, and the store) accepts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QDoubleSpinBox

from desktop.services.app import Lantern
from desktop.services.chat import ConversationParameters
from desktop.tasks.sampling_fields import SAMPLING_FIELDS, SamplingField
from desktop.ui.bridge import BackgroundTasks
from desktop.ui.chat.conversation_settings import ConversationSettingsDialog
from desktop.ui.playground.parameters_panel import ParametersPanel
from desktop.ui.widgets.sampling_spin_box import SamplingSpinBox

pytestmark = pytest.mark.gui

TIMEOUT_MS = 10_000


def assert_follows_the_table(spin: SamplingSpinBox, field: SamplingField) -> None:
    lowest = field.low - 1 if field.can_be_none else field.low  # one below: "Random"
    assert (spin.minimum(), spin.maximum()) == (lowest, field.high), field.name
    assert spin.singleStep() == field.step, field.name
    assert isinstance(spin, QDoubleSpinBox) == (not field.whole), field.name
    if isinstance(spin, QDoubleSpinBox):
        assert spin.decimals() == field.decimals, field.name
    assert spin.toolTip() == field.hint and spin.accessibleDescription() == field.hint
    assert spin.accessibleName() == field.label
    assert (spin.specialValueText() == "Random") == field.can_be_none, field.name


@pytest.fixture
def dialog(qtbot, lantern_home) -> Iterator[ConversationSettingsDialog]:
    lantern = Lantern()
    pool = QThreadPool()
    tasks = BackgroundTasks(pool)
    shown = ConversationSettingsDialog(lantern, tasks, ConversationParameters())
    qtbot.addWidget(shown)
    with qtbot.waitSignal(shown.refreshed, timeout=TIMEOUT_MS):
        shown.show()
    yield shown
    tasks.close()
    pool.waitForDone()
    lantern.close()


def test_the_conversation_dialogs_boxes_follow_the_table(
    dialog: ConversationSettingsDialog,
) -> None:
    assert set(dialog.spins) == {
        "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed"
    }  # fmt: skip
    for name, spin in dialog.spins.items():
        assert_follows_the_table(spin, SAMPLING_FIELDS[name])


def test_the_playgrounds_boxes_follow_the_table(qtbot) -> None:
    panel = ParametersPanel()
    qtbot.addWidget(panel)
    assert set(panel._fields) == set(SAMPLING_FIELDS) - {"mirostat"}  # a choice of versions
    for name, spin in panel._fields.items():
        assert_follows_the_table(spin, SAMPLING_FIELDS[name])
    mirostat = SAMPLING_FIELDS["mirostat"]
    versions = [panel.mirostat.itemData(i) for i in range(panel.mirostat.count())]
    assert versions == list(range(int(mirostat.low), int(mirostat.high) + 1))
    assert panel.mirostat.toolTip() == mirostat.hint


def test_both_take_the_widest_value_the_table_allows(
    qtbot, dialog: ConversationSettingsDialog
) -> None:
    """Where the two once disagreed: repeat penalty and the longest answer."""
    panel = ParametersPanel()
    qtbot.addWidget(panel)
    for name in ("repeat_penalty", "max_tokens"):
        for boxes in (dialog.spins, panel._fields):
            boxes[name].setValue(SAMPLING_FIELDS[name].high)
            assert boxes[name].value() == SAMPLING_FIELDS[name].high
    assert panel.parameters().sampling.max_tokens == 131_072
    assert dialog.parameters().sampling == {"repeat_penalty": 3.0, "max_tokens": 131_072}
