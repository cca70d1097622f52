#!/usr/bin/env bash
# The libraries Qt's X11 and Wayland platform plugins link to, on a Debian or Ubuntu build
# machine: PyInstaller bundles them from there, so a machine without them builds a bundle
# that cannot open its window on a desktop lacking them too (packaging/README.md). Used by
# CI (.ci/run) and the hosted workflow; installs only what is missing.
set -euo pipefail
libraries=(
  libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
  libwayland-cursor0 libwayland-egl1
)
missing=()
for library in "${libraries[@]}"; do
  dpkg-query -W -f='${Status}' "$library" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$library")
done
(( ${#missing[@]} )) || exit 0
sudo=$([[ $(id -u) == 0 ]] || echo sudo)
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
