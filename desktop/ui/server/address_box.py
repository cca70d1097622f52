"""Where the server listens: its port, and whether other computers may reach it, which is the
user's explicit choice, with a warning. The default is this computer only (127.0.0.1)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QSpinBox, QWidget

from desktop.server.hosts import is_loopback
from desktop.server.options import ServerOptions
from desktop.ui.widgets.notice import Notice

LOOPBACK = "127.0.0.1"
EVERY_ADDRESS = "0.0.0.0"
NETWORK_WARNING = (
    "Other computers on your network can reach this server: anyone there who has the key can "
    "use your models. Requests travel unencrypted (plain HTTP), so use this on a network you "
    "trust only."
)


class AddressBox(QGroupBox):
    changed = Signal()  # the user changed the port or the network choice

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Address", parent)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(ServerOptions.port)
        self.port.setAccessibleName("Port")
        self.port.setToolTip("The port programs connect to (8537 unless you change it)")
        self.network = QCheckBox("Allow other computers on my network")
        self.network.setAccessibleName("Allow other computers on my network")
        self.warning = Notice()
        self._network_host = EVERY_ADDRESS  # what "on my network" binds to
        layout = QFormLayout(self)
        layout.addRow("Port:", self.port)
        layout.addRow(self.network)
        layout.addRow(self.warning)
        self.port.valueChanged.connect(lambda _port: self.changed.emit())
        self.network.toggled.connect(self._network_toggled)

    def set_address(self, host: str, port: int) -> None:
        """The settings' address: a host of the user's own (settings.json) that is not this
        computer's loopback is kept for when the network is allowed."""
        on_network = not is_loopback(host)
        if on_network:
            self._network_host = host
        for control in (self.port, self.network):
            control.blockSignals(True)
        self.port.setValue(port)
        self.network.setChecked(on_network)
        for control in (self.port, self.network):
            control.blockSignals(False)
        self._show_warning()

    def host(self) -> str:
        return self._network_host if self.network.isChecked() else LOOPBACK

    def _network_toggled(self, _checked: bool) -> None:
        self._show_warning()
        self.changed.emit()

    def _show_warning(self) -> None:
        if self.network.isChecked():
            self.warning.show_error(NETWORK_WARNING)
        else:
            self.warning.clear_message()
