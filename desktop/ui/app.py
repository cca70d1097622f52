"""The QApplication: build the services, show the main window, close everything on the way out."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import APP_NAME, __version__
from desktop.display_libraries import require_display_libraries
from desktop.paths import resources_dir
from desktop.services.app import Lantern
from desktop.ui.appearance import appearance
from desktop.ui.main_window import MainWindow

# How long a worker thread may hold Python's interpreter lock before the GUI thread gets it
# (Python's default is 5 ms): a worker parsing model headers made the window stall for up to
# 80 ms while it drew a page, waiting that long at every step. Measured by
# benchmarks/models_page_stall.py.
GUI_SWITCH_INTERVAL_S = 0.001


def gui_application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    # Matches lantern.desktop (the installers' menu entry): Wayland docks group the window by it.
    app.setDesktopFileName("lantern")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "lantern.svg")))
    return app


def run_gui() -> int:
    # Before Qt loads its platform plugin: a missing system library makes Qt abort the
    # process with its own message; this says what to install instead.
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        require_display_libraries()
    app = gui_application()
    lantern = Lantern()  # cheap: the database and engine start on first use, off this thread
    # The look before the first window, so that it opens in it. No worker runs yet: reading
    # the small settings file here cannot wait on one.
    settings = lantern.settings
    appearance().apply(settings.theme, settings.font_size)
    window = MainWindow(lantern)
    try:
        # Ctrl+C in the terminal closes the window like the close button does. Python runs
        # signal handlers only between bytecodes, so a timer wakes the interpreter now and then.
        signal.signal(signal.SIGINT, lambda *_: window.close())
        wake = QTimer()
        wake.timeout.connect(lambda: None)
        wake.start(250)
        window.show()
        code = app.exec()
    finally:
        window.shutdown()  # when the loop ended some other way than closing the window
        lantern.close()
    return code
