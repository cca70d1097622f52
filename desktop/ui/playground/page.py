"""The Playground page: a prompt (raw or chat, with variables and few-shot examples) run with
every sampling setting, the answer shown token by token with its probabilities, an
alternative token forced and continued from, two runs side by side (two models, or one model
with two parameter sets), and the saved runs, searchable, to open again.

Built as every page with a long job is (see ui/summarize/page.py): each side's run streams
in a `PageRun` of its own, the saved runs are a `SavedSessions`, the presets and counts go
through the window's BackgroundTasks. The page only shows what comes back, and asks for
`lantern.playground` only inside those: built on first use, it opens the database.

Each side's model says what it can do (a remote server's limits): what it cannot is greyed
out with the reason (as a tooltip, and on the page's notice line for what was set), and a run
never sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.engine.text_model import LOCAL_CAPABILITIES, Capabilities
from desktop.errors import LanternError, ModelNotLoadedYet
from desktop.server.hosts import client_url
from desktop.services.playground import (
    LaneRequest,
    PlaygroundError,
    PlaygroundRun,
    PromptPreview,
)
from desktop.services.playground_parameters import (
    PlaygroundParameters,
    stats_from_json,
    token_from_json,
)
from desktop.store.playground import PlaygroundRunRecord
from desktop.tasks.code_export import CodeRequest
from desktop.ui.error_text import error_text
from desktop.ui.models.formatting import NOT_COUNTED_YET, token_count_text
from desktop.ui.page import Page
from desktop.ui.playground.code_dialog import CodeDialog
from desktop.ui.playground.lane_view import LaneView, stats_text
from desktop.ui.playground.parameters_panel import ParametersPanel
from desktop.ui.playground.prompt_editor import PromptEditor
from desktop.ui.playground.token_view import BANDS, FORCED
from desktop.ui.runs import PageRun
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.run_shortcuts import run_shortcuts
from desktop.ui.widgets.session_history import HistoryRow, local_time, status_words
from desktop.ui.widgets.session_page import SavedSessions, SessionWords
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.engine.protocol import GenerationStats
    from desktop.services.app import Lantern
    from desktop.services.models import ModelOption
    from desktop.ui.bridge import BackgroundTasks

log = logging.getLogger(__name__)

COUNT_DELAY_MS = 500  # count once typing pauses: counting may load the model
NO_MODEL = "Install a model on the Models page to use the Playground."
SIDES = ("A", "B")
# What a remote model may not do, as the page's controls name it.
GREYED_NAMES = {
    "raw_completion": "Raw completion",
    "logprobs": "Alternatives per token",
    "json_schema": "JSON schema",
    "grammar": "GBNF grammar",
    "rendered_prompt": "Show what the model gets",
    "forced_tokens": "choosing a token to go on from",
}
RUNS = SessionWords("run", "runs", delete_question=None)  # deleted at once


def legend_html() -> str:
    swatches = [(color.name(), words) for _floor, color, words in BANDS]
    swatches.append((FORCED.name(), "chosen by you"))
    return " ".join(
        f"<span style='background:{color}; color:#1b1b1b'>&nbsp;{words}&nbsp;</span>"
        for color, words in swatches
    )


def _saved(run: PlaygroundRun) -> Callable[[], PlaygroundRun]:
    """A run the service has saved already, as a PageRun starts one."""
    return lambda: run


class PlaygroundPage(Page):
    runs_ended = Signal()  # every side's thread has ended

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._has_models = False
        self._runs = [PageRun(self, "lantern-playground-run") for _side in SIDES]
        self._ended: dict[int, GenerationStats] = {}  # side -> how its last run went
        self._figures = ""
        self._count_generation = 0
        self._closed = False
        self._build()
        self._connect()
        self._update_actions()

    # ---- layout ----

    def _build(self) -> None:
        self.editor = PromptEditor()
        self.run_button = QPushButton("Run")
        self.run_button.setAccessibleName("Run")
        self.run_button.setToolTip("Run the prompt (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip("Stop (Esc): what was written is kept")
        self.compare_button = QPushButton("Side by side")
        self.compare_button.setAccessibleName("Side by side")
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip(
            "Run the prompt twice at once, in two engines: two models, or one model with two "
            "sets of parameters"
        )
        self.model_notice = Notice()  # shown while no model is installed
        self.model_notice.show_info(NO_MODEL)
        self.model_notice.hide()  # until the window says which models there are
        self.limits_notice = Notice()  # what the models chosen cannot do, of what was set
        self.status = Notice()
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.run_button)
        actions.addWidget(self.stop_button)
        actions.addWidget(self.compare_button)
        actions.addStretch(1)

        self.lanes = [LaneView(name) for name in SIDES]
        self.parameters = [ParametersPanel(f"Parameters {name}") for name in SIDES]
        outputs = QSplitter(Qt.Orientation.Horizontal)
        outputs.setChildrenCollapsible(False)
        for lane in self.lanes:
            outputs.addWidget(lane)
        outputs.setSizes([500, 500])
        legend = QLabel(legend_html())
        legend.setWordWrap(True)
        legend.setToolTip("How likely the model found each token, before the sampling settings")
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(outputs, 1)
        bottom_layout.addWidget(legend)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.editor, 1)
        top_layout.addLayout(actions)
        top_layout.addWidget(self.model_notice)
        top_layout.addWidget(self.limits_notice)
        top_layout.addWidget(self.status)
        work = QSplitter(Qt.Orientation.Vertical)
        work.setChildrenCollapsible(False)
        work.addWidget(top)
        work.addWidget(bottom)
        work.setSizes([300, 440])

        lantern = self._lantern
        self.sessions: SavedSessions[PlaygroundRunRecord, list[PlaygroundRunRecord]] = (
            SavedSessions(self, self._tasks, self.status, lambda: lantern.playground, RUNS)
        )

        self.parameter_tabs = QTabWidget()
        for panel, name in zip(self.parameters, SIDES, strict=True):
            self.parameter_tabs.addTab(panel, name)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.setChildrenCollapsible(False)
        main.addWidget(self.sessions.history)
        main.addWidget(work)
        main.addWidget(self.parameter_tabs)
        main.setStretchFactor(1, 1)
        main.setSizes([220, 700, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(main)

        self.stop_shortcut = run_shortcuts(self, self.run, self.stop)
        self._count_later = Throttle(self._count, COUNT_DELAY_MS, parent=self)
        self._show_sides()

    def _connect(self) -> None:
        self.editor.changed.connect(self._prompt_changed)
        self.run_button.clicked.connect(lambda _checked=False: self.run())
        self.stop_button.clicked.connect(lambda _checked=False: self.stop())
        self.compare_button.toggled.connect(lambda _on: self._show_sides())
        self.compare_button.toggled.connect(lambda _on: self._models_chosen())
        self.editor.raw_button.toggled.connect(lambda _on: self._show_limits())
        self.lanes[0].model_picker.currentIndexChanged.connect(lambda _i: self._prompt_changed())
        for side, (lane, panel, run) in enumerate(
            zip(self.lanes, self.parameters, self._runs, strict=True)
        ):
            lane.model_picker.currentIndexChanged.connect(lambda _i: self._models_chosen())
            panel.changed.connect(self._show_limits)
            # Before the lane shows the run's tokens: whether they can be chosen from.
            run.started.connect(
                lambda run, lane=lane: lane.view.set_forcing(
                    self.capabilities_of(run.model.id).forced_tokens
                )
            )
            run.started.connect(lane.run_started)
            run.yielded.connect(lane.run_progress)
            run.finished.connect(lambda outcome, side=side: self._side_finished(side, outcome))
            run.failed.connect(lane.run_failed)
            run.ended.connect(self._side_ended)
            lane.failed.connect(self.status.show_error)
            lane.view.force_requested.connect(
                lambda position, token_id, side=side: self.force(side, position, token_id)
            )
            lane.code_button.clicked.connect(lambda _checked=False, side=side: self.show_code(side))
            panel.changed.connect(
                lambda lane=lane, panel=panel: lane.settings_label.setText(panel.summary())
            )
            panel.preset_chosen.connect(lambda name, side=side: self.apply_preset(side, name))
            panel.save_preset_requested.connect(
                lambda name, side=side: self.save_preset(side, name)
            )
            panel.delete_preset_requested.connect(self.delete_preset)
            panel.reset_requested.connect(lambda side=side: self.reset_to_model(side))
            lane.settings_label.setText(panel.summary())

    def _show_sides(self) -> None:
        both = self.compare_button.isChecked()
        self.lanes[1].setVisible(both)
        self.parameter_tabs.setTabVisible(1, both)
        self.lanes[0].code_button.setVisible(True)

    def _update_actions(self) -> None:
        running = self.is_running()
        self.run_button.setEnabled(not running and self._has_models)
        self.stop_button.setEnabled(running)
        self.stop_shortcut.setEnabled(running)
        self.compare_button.setEnabled(not running)

    # ---- what the window calls ----

    def set_models(self, models: list[ModelOption], default_id: str | None) -> None:
        self._has_models = bool(models)
        for lane in self.lanes:
            lane.model_picker.show_models(models, default_id)
        self.model_notice.setVisible(not models)
        self._models_chosen()
        self._update_actions()

    def start(self) -> None:
        """The window opened: read the saved runs and the presets."""
        self.sessions.refresh()
        self.refresh_presets()

    def shutdown(self) -> None:
        """The window is closing: stop the runs and wait for their threads."""
        if self._closed:
            return
        self._closed = True
        self._count_later.cancel()
        for run in self._runs:
            run.shutdown()
        for lane in self.lanes:
            lane.view.flush()

    def is_running(self) -> bool:
        return any(run.running() for run in self._runs)

    def figures(self) -> str:
        """The last run's figures, for the window's status bar ('' until a run has ended)."""
        return self._figures

    def sides(self) -> int:
        return 2 if self.compare_button.isChecked() else 1

    # ---- what the models chosen can do ----

    def capabilities_of(self, model_id: str | None) -> Capabilities:
        """What a listed model can do; one no longer listed is for its run to refuse."""
        option = self.lanes[0].model_picker.options.get(model_id or "")
        return option.capabilities if option is not None else LOCAL_CAPABILITIES

    def _models_chosen(self) -> None:
        """Grey out, on each side in use, what its model cannot do; raw completion (one
        prompt for both sides) where either side cannot."""
        for lane, panel in zip(self.lanes, self.parameters, strict=True):
            panel.set_capabilities(lane.model_picker.capabilities())
            lane.allow_code(code_reason(lane.model_picker.chosen()))
        self.editor.allow_raw(self._raw_reason())
        self._show_limits()

    def _raw_reason(self) -> str | None:
        """Why a side in use cannot take a prompt as is; None: each can."""
        in_use = self.lanes[: self.sides()]
        reasons = [lane.model_picker.capabilities().raw_completion for lane in in_use]
        return next((reason for reason in reasons if reason), None)

    def _show_limits(self) -> None:
        """The text the model gets, greyed where side A's cannot show it; the notice line says
        why for what was set but is not sent (or, for a remote model, where to look)."""
        chat = self.editor.mode() == "chat"
        preview = self.lanes[0].model_picker.capabilities().rendered_prompt
        self.editor.allow_preview(preview if chat else None)
        lines = []
        if raw := self._raw_reason():
            lines.append(f"Raw completion is greyed out: {raw}")
        remotes = []
        for side in range(self.sides()):
            chosen = self.lanes[side].model_picker.chosen()
            if chosen is not None and chosen.remote is not None:
                remotes.append(chosen)
            prefix = f"Side {SIDES[side]}: " if self.sides() > 1 else ""
            lines += [prefix + reason for reason in self.parameters[side].left_out()]
        if not lines:
            lines = list(dict.fromkeys(greyed_line(option) for option in remotes))
        if lines:
            self.limits_notice.show_info("\n".join(lines))
        else:
            self.limits_notice.clear_message()

    # ---- the prompt's length, once typing pauses ----

    def _prompt_changed(self) -> None:
        self._count_generation += 1  # a count on its way is for older text now
        if self.editor.has_text() and self.lanes[0].model_picker.currentData():
            self.editor.show_count("counting…")
            self._count_later.restart()
        else:
            self.editor.show_count("")

    def _count(self) -> None:
        model_id = self.lanes[0].model_picker.currentData()
        if self._closed or model_id is None or not self.editor.has_text():
            return
        try:
            prompt = self.editor.prompt()
        except LanternError as exc:
            self.editor.show_count("", exc.message)
            return
        generation = self._count_generation
        estimate = self.capabilities_of(model_id).exact_token_counts
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.playground.preview(model_id, prompt),
            lambda preview: self._show_count(generation, preview, estimate),
            lambda error: self._count_failed(generation, error),
        )

    def _show_count(self, generation: int, preview: PromptPreview, estimate: str | None) -> None:
        """`estimate`: why the model's tokens are estimated, if they are (the tooltip); the
        preview may say why this count is one (a chat on a server that applies its template)."""
        if generation != self._count_generation:
            return
        estimate = preview.estimate or estimate
        count = token_count_text(preview.tokens, estimated=estimate is not None)
        self.editor.show_count(count, estimate or "By the model's own tokenizer")
        self.editor.show_preview(preview.text)

    def _count_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._count_generation:
            return
        if isinstance(error, ModelNotLoadedYet):  # counted again when a run ends
            self.editor.show_count(NOT_COUNTED_YET, error.message)
        else:
            self.editor.show_count("", f"Tokens could not be counted: {error_text(error)}")

    def count_text(self) -> str:
        return self.editor.count_label.text()

    # ---- running ----

    def run(self) -> None:
        if self.is_running() or self._closed:
            return
        if not self.editor.has_text():
            self.status.show_error("Write a prompt first.")
            return
        try:
            prompt = self.editor.prompt()
        except LanternError as exc:
            self.status.show_error(exc)
            return
        sides = []
        for side in range(self.sides()):
            model_id = self.lanes[side].model_picker.currentData()
            if model_id is None:
                self.status.show_error("Install a model on the Models page first.")
                return
            cannot = self.capabilities_of(model_id).raw_completion
            if prompt.mode == "raw" and cannot:  # never sent: the mode turned to chat
                self.status.show_error(cannot)
                return
            sides.append(LaneRequest(model_id, self.parameters[side].parameters()))
        self.status.clear_message()
        self.sessions.set_current(None)
        for side in range(self.sides()):
            self.lanes[side].view.clear_answer()
            self.lanes[side].show_status("loading")
        lantern = self._lantern
        self._busy(True)
        self._tasks.run(
            lambda: lantern.playground.start(prompt, sides),
            self._start_runs,
            self._start_failed,
        )

    def _busy(self, busy: bool) -> None:
        """While a run is being saved, before its threads exist: no second start."""
        self.run_button.setEnabled(not busy)
        self.compare_button.setEnabled(not busy)

    def _start_failed(self, error: BaseException) -> None:
        self._busy(False)
        self.status.show_error(error)
        for lane in self.lanes:
            lane.show_status("")
        self._update_actions()

    def _start_runs(self, runs: list[PlaygroundRun]) -> None:
        if self._closed:
            return
        for run in runs:
            self._stream(run.lane, _saved(run))
        self.sessions.refresh()

    def force(self, side: int, position: int, token_id: int) -> None:
        """Put the alternative `token_id` at `position` of side `side`'s answer and go on."""
        run_id = self.lanes[side].run_id
        if run_id is None or self.is_running() or self._closed:
            return
        cannot = self.lanes[side].view.forcing
        if cannot:  # greyed out in the view: never sent
            self.status.show_error(cannot)
            return
        lantern = self._lantern
        self.status.clear_message()
        self._stream(side, lambda: lantern.playground.branch(run_id, position, token_id))

    def _stream(self, side: int, start: Callable[[], PlaygroundRun]) -> None:
        if not self.is_running():
            self._ended.clear()  # a new run (both of its sides start together)
        self._runs[side].start(start)
        self._update_actions()

    def _side_finished(self, side: int, run: PlaygroundRun) -> None:
        self.lanes[side].run_finished(run)
        if run.stats is not None:
            self._ended[side] = run.stats

    def _side_ended(self) -> None:
        if self.is_running():
            return  # the other side goes on
        self._figures = self._figures_line()
        self._update_actions()
        self.sessions.refresh()
        self._prompt_changed()
        self.runs_ended.emit()

    def _figures_line(self) -> str:
        if len(self._ended) == 1 and 0 in self._ended and not self.compare_button.isChecked():
            return stats_text(self._ended[0])
        return " | ".join(
            f"{SIDES[side]}: {stats_text(stats)}" for side, stats in sorted(self._ended.items())
        )

    def stop(self) -> None:
        for run in self._runs:
            run.cancel()

    # ---- saved runs (SavedSessions' owner) ----

    def history_row(self, record: PlaygroundRunRecord) -> HistoryRow:
        side = f" · side {SIDES[record.lane]}" if record.comparison_id else ""
        forced = f" · from run {record.branch_of}" if record.branch_of else ""
        details = (
            f"{local_time(record.created_at)} · {record.model_id or 'no model'} · "
            f"{status_words(record.status)}{side}{forced}"
        )
        return HistoryRow(record.id, record.title, details, record.output[:300])

    def show_session(self, records: list[PlaygroundRunRecord]) -> None:
        """A saved run (both sides of a side-by-side one)."""
        first = records[0]
        self.editor.restore(first.mode, first.setup, first.prompt)
        self.compare_button.setChecked(len(records) > 1)
        for side, record in enumerate(records[:2]):
            lane = self.lanes[side]
            lane.model_picker.choose(record.model_id)
            self.parameters[side].set_parameters(PlaygroundParameters.from_json(record.parameters))
            tokens = [token_from_json(t) for t in record.tokens]
            lane.view.set_forcing(self.capabilities_of(record.model_id).forced_tokens)
            lane.view.show_answer(record.output, tokens)
            lane.show_status(record.status, stats_from_json(record.stats), record.error or "")
            lane.run_id = record.id
        self.status.clear_message()

    def clear_session(self) -> None:
        self.editor.restore("raw", {})
        for lane in self.lanes:
            lane.clear_run()
        self.editor.prompt_box.setFocus()

    def session_deleted(self, run_id: int, *, shown: bool) -> None:
        """The sides that show the run are emptied; the prompt stays, to run again."""
        for lane in self.lanes:
            if lane.run_id == run_id:
                lane.clear_run()

    # ---- presets ----

    def refresh_presets(self, current: dict[int, str] | None = None) -> None:
        lantern = self._lantern

        def show(names: list[str]) -> None:
            for side, panel in enumerate(self.parameters):
                panel.show_presets(names, (current or {}).get(side))

        self._tasks.run(
            lambda: [p.name for p in lantern.playground.presets.all()], show, self.status.show_error
        )

    def apply_preset(self, side: int, name: str) -> None:
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.playground.presets.get(name),
            lambda preset: self.parameters[side].set_parameters(
                PlaygroundParameters.from_json(preset.parameters)
            ),
            self.status.show_error,
        )

    def save_preset(self, side: int, name: str, *, confirmed: bool = False) -> None:
        """Save side `side`'s parameters as preset `name`; overwriting one asks first."""
        panel = self.parameters[side]
        exists = panel.presets.findText(name) >= 0
        if exists and not confirmed:
            answer = QMessageBox.question(
                self, "Save preset", f"Replace the preset {name!r} with these parameters?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        parameters = panel.parameters().as_json()
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.playground.presets.save(name, parameters),
            lambda _result: self._preset_saved(side, name),
            self.status.show_error,
        )

    def _preset_saved(self, side: int, name: str) -> None:
        self.status.show_info(f"Saved the preset {name!r}.")
        self.refresh_presets({side: name})

    def delete_preset(self, name: str) -> None:
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.playground.presets.delete(name),
            lambda _result: self.refresh_presets(),
            self.status.show_error,
        )

    def reset_to_model(self, side: int) -> None:
        model_id = self.lanes[side].model_picker.currentData()
        if model_id is None:
            return
        current = self.parameters[side].parameters()
        lantern = self._lantern
        self.status.show_info("Reading the model's recommended settings…")
        self._tasks.run(
            lambda: lantern.playground.recommended(model_id, current),
            lambda parameters: self._reset_done(side, parameters),
            self.status.show_error,
        )

    def _reset_done(self, side: int, parameters: PlaygroundParameters) -> None:
        self.parameters[side].set_parameters(parameters)
        self.status.show_info("Parameters reset to the model's defaults.")

    # ---- copy as code ----

    def code_request(self, side: int) -> CodeRequest:
        chosen = self.lanes[side].model_picker.chosen()
        model = chosen.installed if chosen is not None else None
        if model is None:
            raise PlaygroundError(code_reason(chosen) or NO_MODEL)
        prompt = self.editor.prompt()
        parameters = self.parameters[side].parameters()
        settings = self._lantern.settings
        return CodeRequest(
            model_path=str(model.path),
            model_name=model.id,
            prompt=prompt.prompt if prompt.mode == "raw" else None,
            messages=prompt.messages,
            sampling=parameters.sampling,
            constraint=parameters.constraint,
            logprobs=parameters.alternatives,
            context_length=min(settings.context_length, model.info.context_length),
            server_url=client_url(settings.server_host, settings.server_port),
        )

    def show_code(self, side: int) -> CodeDialog | None:
        try:
            request = self.code_request(side)
        except LanternError as exc:
            self.status.show_error(exc)
            return None
        dialog = CodeDialog(request, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog


def greyed_line(option: ModelOption) -> str:
    """'On gpu-box, greyed out: Show what the model gets, … (hover one for why).'"""
    names = [name for field, name in GREYED_NAMES.items() if getattr(option.capabilities, field)]
    greyed = ", ".join([*names, "Copy as code"])
    return f"On {option.remote}, greyed out: {greyed} (hover one for why)."


def code_reason(chosen: ModelOption | None) -> str | None:
    """Why Copy as code is greyed out for the model chosen; None: it is offered."""
    if chosen is None or chosen.remote is None:
        return None
    return (
        "Copy as code writes llama-cpp-python code that loads the model's file, and this "
        f"model runs on the server {chosen.remote}: there is no file here to load."
    )
