"""The time a task's remaining steps will take, from the pace of its steps so far."""

from __future__ import annotations

import pytest

from desktop.services.generation_steps import Pace, StepCost


def test_the_pace_of_the_steps_so_far_gives_the_time_left() -> None:
    # 200 prompt tokens read in 1 s, then 20 tokens written in 2 s.
    pace = Pace([StepCost("segment", 200, 20, 1.0, 3.0)])
    assert pace.seconds_for(400, 10) == pytest.approx(2.0 + 1.0)


def test_a_server_that_does_not_count_prompts_still_gives_a_time_left() -> None:
    """A remote server may give no prompt figures: each step's wait for its first token
    stands in for reading the next prompt."""
    pace = Pace([StepCost("segment", 0, 20, 0.5, 2.5), StepCost("segment", 0, 20, 1.5, 3.5)])
    assert pace.seconds_for(400, 10) == pytest.approx(1.0 + 10 / 10)
