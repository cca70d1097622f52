#!/usr/bin/env bash
# The .deb: the PyInstaller bundle in /opt/lantern, `lantern` on PATH, a menu entry and icons.
# Run after the bundle is built (`make package` does both): packaging/linux/build-deb.sh
# LANTERN_BACKEND=cuda names the package lantern-cuda; the two replace each other.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
backend=${LANTERN_BACKEND:-cpu}
eval "$("$python" packaging/app_info.py)"

bundle=dist/$EXECUTABLE
icons=build/pyinstaller/icons
[[ -x $bundle/$EXECUTABLE ]] || { echo "no bundle at $bundle: build it first (make package)" >&2; exit 1; }

package=lantern
other=lantern-cuda
if [[ $backend == cuda ]]; then package=lantern-cuda; other=lantern; fi
# shellcheck source=packaging/linux/check-backend.sh
source packaging/linux/check-backend.sh
arch=$(dpkg --print-architecture)
# The bundle carries its libraries (Qt, xcb, ICU...) but not the C library, OpenGL, the X
# connection and Wayland's client libraries, which come from the system
# (tests/packaging checks that nothing else is missing). glibc: at least the one it was built against.
glibc=$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)
root=build/deb/$package
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications"
cp -a "$bundle" "$root/opt/lantern"
ln -s "/opt/lantern/$EXECUTABLE" "$root/usr/bin/$EXECUTABLE"
install -m644 packaging/linux/lantern.desktop "$root/usr/share/applications/lantern.desktop"
for size in 16 24 32 48 64 128 256 512; do
  install -Dm644 "$icons/lantern-$size.png" \
    "$root/usr/share/icons/hicolor/${size}x${size}/apps/lantern.png"
done
install -Dm644 "$ICON_SVG" "$root/usr/share/icons/hicolor/scalable/apps/lantern.svg"
# The menu and icon caches are refreshed by the hicolor-icon-theme and desktop-file-utils
# triggers, so no maintainer scripts are needed.
cat > "$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $VERSION
Architecture: $arch
Maintainer: $PUBLISHER <lantern@localhost>
Installed-Size: $(du -sk "$root" | cut -f1)
Depends: libc6 (>= $glibc), libgl1, libegl1, libxcb1, libdrm2, libwayland-client0,
 libwayland-cursor0, libwayland-egl1
Conflicts: $other
Replaces: $other
Section: utils
Priority: optional
Description: $DESCRIPTION
 $NAME runs language models (GGUF, through llama.cpp) on this computer: chat, summarize,
 translate and a playground for prompts. Nothing is sent anywhere; models are downloaded
 from the Hugging Face Hub only when asked.
CONTROL
deb=dist/${package}_${VERSION}_${arch}.deb
# zstd: a tenth of xz's time for this bundle, and read by dpkg since Debian 12 / Ubuntu 21.10.
dpkg-deb --build --root-owner-group -Zzstd "$root" "$deb"
echo "$deb"
