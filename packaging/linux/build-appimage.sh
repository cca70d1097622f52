#!/usr/bin/env bash
# The PyInstaller bundle (dist/lantern) as an AppImage:
#   dist/Lantern-<version>-<machine>[-cuda].AppImage
# Usage: packaging/linux/build-appimage.sh [--appdir-only]
# Env: LANTERN_BACKEND (cpu|cuda, default cpu): the llama.cpp build in the bundle;
#      APPIMAGETOOL: appimagetool's path (default: the one on PATH);
#      PYTHON: the interpreter that reads packaging/app_info.py (default .venv/bin/python,
#        else python3).
# Without appimagetool it stops after build/Lantern.AppDir: exit 3, or 0 with --appdir-only.
set -euo pipefail

appdir_only=false
case "${1:-}" in
  "") ;;
  --appdir-only) appdir_only=true ;;
  *) echo "usage: $0 [--appdir-only]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/../.."
python=${PYTHON:-}
if [[ -z $python ]]; then
  python=.venv/bin/python
  [[ -x $python ]] || python=python3
fi

bundle=dist/lantern
icons=build/pyinstaller/icons
appdir=build/Lantern.AppDir
if [[ ! -x $bundle/lantern || ! -f $icons/lantern-256.png ]]; then
  echo "No bundle: run 'pyinstaller packaging/lantern.spec --noconfirm --distpath dist" \
    "--workpath build/pyinstaller' first." >&2
  exit 1
fi

name=$("$python" packaging/app_info.py name)
version=$("$python" packaging/app_info.py version)
machine=$("$python" packaging/app_info.py machine)
backend=${LANTERN_BACKEND:-cpu}
case $backend in
  cpu) suffix="" ;;
  cuda) suffix="-cuda" ;;
  *) echo "LANTERN_BACKEND must be cpu or cuda on Linux, not '$backend'" >&2; exit 2 ;;
esac
# shellcheck source=packaging/linux/check-backend.sh
source packaging/linux/check-backend.sh

rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications"
cp -a "$bundle" "$appdir/usr/lib/lantern"

cat >"$appdir/AppRun" <<'EOF'
#!/bin/sh
# The AppImage runtime sets APPDIR; an unpacked AppDir is found from this script's own path.
here=${APPDIR:-$(dirname "$(readlink -f "$0")")}
exec "$here/usr/lib/lantern/lantern" "$@"
EOF
chmod 755 "$appdir/AppRun"

cp packaging/linux/lantern.desktop "$appdir/lantern.desktop"
cp packaging/linux/lantern.desktop "$appdir/usr/share/applications/lantern.desktop"
cp "$icons/lantern-256.png" "$appdir/lantern.png"
ln -s lantern.png "$appdir/.DirIcon"  # the AppImage's own icon, shown by file managers
# 1024 is left out: the hicolor theme has no folder for it.
for size in 16 24 32 48 64 128 256 512; do
  dir="$appdir/usr/share/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  cp "$icons/lantern-$size.png" "$dir/lantern.png"
done
echo "AppDir: $appdir"

$appdir_only && exit 0

tool=${APPIMAGETOOL:-$(command -v appimagetool || true)}
if [[ -z $tool ]]; then
  echo "appimagetool not found (set APPIMAGETOOL or put it on PATH): stopped after the AppDir." >&2
  exit 3
fi
out="dist/$name-$version-$machine$suffix.AppImage"
# appimagetool names architectures as uname does (aarch64), not as app_info does (arm64).
ARCH=$(uname -m) "$tool" "$appdir" "$out"
echo "AppImage: $out"
