"""A spin box for one sampling field, made from its row of the one table of sampling fields
(`tasks/sampling_fields.py`): its range, step, decimals, name and hint. A field that may be
None (the seed) shows "Random" one below its lowest value. The conversation settings dialog
and the Playground's parameters both build their boxes here, so their ranges cannot drift
apart again."""

from __future__ import annotations

from typing import TypeAlias

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from desktop.tasks.sampling_fields import SamplingField

SamplingSpinBox: TypeAlias = QSpinBox | QDoubleSpinBox
NONE_TEXT = "Random"  # what a box shows for None: the seed, a new one each time


def sampling_spin_box(field: SamplingField) -> SamplingSpinBox:
    spin: SamplingSpinBox
    if field.whole:
        spin = QSpinBox()
        lowest = int(field.low) - 1 if field.can_be_none else int(field.low)
        spin.setRange(lowest, int(field.high))
        spin.setSingleStep(int(field.step))
    else:
        spin = QDoubleSpinBox()
        spin.setDecimals(field.decimals)
        spin.setRange(field.low, field.high)
        spin.setSingleStep(field.step)
    if field.can_be_none:
        spin.setSpecialValueText(NONE_TEXT)  # Qt shows it at the minimum
    spin.setAccessibleName(field.label)
    spin.setAccessibleDescription(field.hint)
    spin.setToolTip(field.hint)
    return spin


def spin_box_value(spin: SamplingSpinBox) -> int | float | None:
    """What the box holds: None where it shows "Random"."""
    if spin.specialValueText() and spin.value() == spin.minimum():
        return None
    return spin.value()


def show_in_spin_box(spin: SamplingSpinBox, value: int | float | None) -> None:
    """Show a value; None as "Random", at the minimum."""
    if isinstance(spin, QSpinBox):
        spin.setValue(spin.minimum() if value is None else int(value))
    else:
        spin.setValue(spin.minimum() if value is None else value)
