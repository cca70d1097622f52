"""The Server page: Lantern's local OpenAI-compatible API (the one `lantern serve` runs),
started and stopped here, with where it listens, its key, the web pages allowed to call it,
code to call it with, and a live log of its requests.

Secure by default, as the command: this computer only unless the user allows the network
(with a warning), a key always required (from the system keyring, read in the background
when the page is first shown or the server starts), no web page allowed unless listed, and
the requests' text not kept unless the user asks. The server runs on threads of its own
(local_server.py); its log reaches the page through a queued relay (log_relay.py). What the
user changes here is saved in the settings in the background, for `lantern serve` too, and
"Start the server when Lantern starts" starts it when the page starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QCheckBox, QScrollArea, QVBoxLayout, QWidget

from desktop.errors import LanternError
from desktop.server.options import ServerOptions
from desktop.tasks.code_export import ServerAccess
from desktop.ui.page import Page
from desktop.ui.server.address_box import LOOPBACK, AddressBox
from desktop.ui.server.api_key_box import ApiKeyBox
from desktop.ui.server.local_server import LocalServer, ServerState
from desktop.ui.server.origins_box import OriginsBox
from desktop.ui.server.request_log_view import RequestLogView
from desktop.ui.server.server_switch import ServerSwitch
from desktop.ui.server.snippets_view import SnippetsView
from desktop.ui.settings_writer import SettingsWriter
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.panes import panes

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.models import ModelOption
    from desktop.services.serving import ServingService
    from desktop.settings import Settings
    from desktop.ui.bridge import BackgroundTasks


class ServerPage(Page):
    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._closed = False
        self._settings: Settings | None = None  # as read at start
        self._service: ServingService | None = None
        self._model: str | None = None  # the model the code asks for
        self.server = LocalServer(lantern, self)
        self.notice = Notice()  # a setting that could not be saved
        self._writer = SettingsWriter(lantern, tasks, self.notice.show_error)
        self._build()
        self._connect()
        self._enable_settings(False)
        self._update_code()

    # ---- layout ----

    def _build(self) -> None:
        self.switch = ServerSwitch()
        self.address = AddressBox()
        self.key_box = ApiKeyBox(self._lantern, self._tasks)
        self.origins = OriginsBox()
        self.start_with_app = QCheckBox("Start the server when Lantern starts")
        self.start_with_app.setAccessibleName("Start the server when Lantern starts")
        controls = QWidget()
        column = QVBoxLayout(controls)
        for widget in (self.switch, self.address, self.key_box, self.origins):
            column.addWidget(widget)
        column.addWidget(self.start_with_app)
        column.addWidget(self.notice)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)

        self.snippets = SnippetsView()
        self.log_view = RequestLogView()
        work = panes(
            [self.snippets, self.log_view], stretch=[0, 1], sizes=[240, 440], vertical=True
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(panes([scroll, work], stretch=[0, 1], sizes=[360, 640]))

    def _connect(self) -> None:
        self.switch.button.clicked.connect(lambda _checked=False: self.toggle_server())
        self.server.changed.connect(self._show_state)
        self.address.changed.connect(self._address_changed)
        self.origins.changed.connect(
            lambda: self._writer.save(server_cors_origins=self.origins.origins())
        )
        self.key_box.key_shown.connect(lambda _key: self._update_code())
        self.log_view.keep_contents_changed.connect(self._keep_contents)
        self.start_with_app.toggled.connect(
            lambda checked: self._writer.save(server_start_with_app=checked)
        )

    # ---- what the window calls ----

    def start(self) -> None:
        """Read the settings and the service; start serving if the user asked for that."""
        self._tasks.run(self._read_start, self._started, self.switch.state_line.show_error)

    def set_models(self, models: list[ModelOption], default_id: str | None) -> None:
        installed = [option.id for option in models if option.installed is not None]
        self._model = default_id if default_id in installed else next(iter(installed), None)
        self._update_code()

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.log_view.close_log()
        self.server.shutdown()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._service is not None:
            self.key_box.load()  # the keyring is asked only once the user looks

    # ---- the server ----

    def toggle_server(self) -> None:
        if self.server.state.phase in ("starting", "serving"):
            self.server.stop()
        else:
            self.start_server()

    def start_server(self) -> None:
        assert self._settings is not None, "start() first"
        try:
            options = ServerOptions.from_settings(
                self._settings,
                host=self.address.host(),
                port=self.address.port.value(),
                cors_origins=self.origins.origins(),
            )
        except LanternError as invalid:  # a host of the user's own in settings.json
            self.switch.state_line.show_error(invalid)
            return
        self.server.start(options)

    def _read_start(self) -> tuple[Settings, ServingService]:
        """On the pool: the Lantern's parts are built on first use."""
        return self._lantern.settings, self._lantern.serving

    def _started(self, result: tuple[Settings, ServingService]) -> None:
        settings, self._service = result
        self._settings = settings
        self.address.set_address(settings.server_host, settings.server_port)
        self.origins.set_origins(settings.server_cors_origins)
        for box, checked in (
            (self.log_view.keep_contents, self._service.log.keep_contents),
            (self.start_with_app, settings.server_start_with_app),
        ):
            box.blockSignals(True)
            box.setChecked(checked)
            box.blockSignals(False)
        self.log_view.listen(self._service.log)
        self._show_state(self.server.state)
        if self.isVisible():
            self.key_box.load()
        if settings.server_start_with_app:
            self.start_server()

    def _show_state(self, state: ServerState) -> None:
        self.switch.show_state(state)
        self._enable_settings(state.phase == "stopped")
        if state.phase == "serving":
            self.key_box.load()  # the server has just read it: no wait
        self._update_code()

    def _enable_settings(self, stopped: bool) -> None:
        """Where it listens and whom it answers are set before it starts."""
        ready = self._service is not None
        self.switch.button.setEnabled(ready and self.server.state.phase != "stopping")
        tip = "" if stopped else "Stop the server to change this"
        for group in (self.address, self.origins):
            group.setEnabled(ready and stopped)
            group.setToolTip(tip)
        for box in (self.log_view.keep_contents, self.start_with_app):
            box.setEnabled(ready)

    # ---- settings ----

    def _address_changed(self) -> None:
        self._writer.save(server_host=self.address.host(), server_port=self.address.port.value())
        self._update_code()

    def _keep_contents(self, keep: bool) -> None:
        if self._service is not None:
            self._service.log.keep_contents = keep  # read by the server at each request
        self._writer.save(server_log_contents=keep)

    # ---- the code to call it with ----

    def _update_code(self) -> None:
        state = self.server.state
        url = state.url or f"http://{LOOPBACK}:{self.address.port.value()}/v1"
        key = self.key_box.key() if self.key_box.is_shown() else None
        self.snippets.show_code(ServerAccess(url, key), self._model)
