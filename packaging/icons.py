"""Render Lantern's SVG icon into what each OS wants: PNGs for Linux (hicolor theme), .ico for
Windows, .icns for macOS. `python packaging/icons.py OUT_DIR`.

Qt draws the SVG (the app already ships QtSvg); Pillow writes the .ico and .icns containers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app_info import ICON_SVG

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)


def render_icons(out_dir: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(ICON_SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {ICON_SVG}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for size in PNG_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        image.save(str(out_dir / f"lantern-{size}.png"))
    largest = Image.open(out_dir / "lantern-1024.png")
    largest.save(out_dir / "lantern.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    largest.save(out_dir / "lantern.icns")


if __name__ == "__main__":
    render_icons(Path(sys.argv[1]))
