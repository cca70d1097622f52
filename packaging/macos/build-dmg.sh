#!/usr/bin/env bash
# dist/Lantern.app (made by `pyinstaller packaging/lantern.spec`) as a disk image:
#   dist/Lantern-<version>-macos-<machine>[-<variant>].dmg
# Usage: packaging/macos/build-dmg.sh
# Env: LANTERN_BACKEND: the llama.cpp build in the app; metal on Apple silicon and cpu on Intel
#        are the defaults, and only another one shows in the file name.
#      APPLE_SIGNING_IDENTITY: a "Developer ID Application: ..." identity in the keychain; signs
#        the app (hardened runtime, packaging/macos/entitlements.plist) and the DMG.
#      APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD (an app-specific password): with the
#        identity, the DMG is notarized and the ticket stapled to it.
#      PYTHON: the interpreter that reads packaging/app_info.py (default .venv/bin/python,
#        else python3).
set -euo pipefail

cd "$(dirname "$0")/../.."
python=${PYTHON:-}
if [[ -z $python ]]; then
  python=.venv/bin/python
  [[ -x $python ]] || python=python3
fi

name=$("$python" packaging/app_info.py name)
version=$("$python" packaging/app_info.py version)
machine=$("$python" packaging/app_info.py machine)
app="dist/$name.app"
if [[ ! -d $app ]]; then
  echo "No $app: run 'pyinstaller packaging/lantern.spec --noconfirm --distpath dist" \
    "--workpath build/pyinstaller' first." >&2
  exit 1
fi

if [[ $machine == arm64 ]]; then default_backend=metal; else default_backend=cpu; fi
backend=${LANTERN_BACKEND:-$default_backend}
case $backend in
  cpu | metal) ;;
  *) echo "LANTERN_BACKEND must be cpu or metal on macOS, not '$backend'" >&2; exit 2 ;;
esac
suffix=""
[[ $backend == "$default_backend" ]] || suffix="-$backend"
# The name must say what the app holds.
has_metal=$(find "$app" -name 'libggml-metal*' -print -quit)
if [[ $backend == metal && -z $has_metal ]] || [[ $backend == cpu && -n $has_metal ]]; then
  echo "LANTERN_BACKEND=$backend does not match the app's llama.cpp (Metal library:" \
    "${has_metal:-none}): rebuild llama-cpp-python for $backend, then the app." >&2
  exit 1
fi

identity=${APPLE_SIGNING_IDENTITY:-}
if [[ -n $identity ]]; then
  # Inside out: --deep does not re-sign the loose libraries in Contents/Frameworks subfolders
  # (llama_cpp/lib, PySide6), which keep PyInstaller's ad-hoc signatures otherwise and fail
  # notarization.
  while IFS= read -r -d '' binary; do
    if file -b "$binary" | grep -q 'Mach-O'; then
      codesign --force --options runtime --timestamp --sign "$identity" "$binary"
    fi
  done < <(find "$app/Contents" -type f -print0)
  codesign --deep --force --options runtime --timestamp \
    --entitlements packaging/macos/entitlements.plist --sign "$identity" "$app"
  codesign --verify --deep --strict --verbose=2 "$app"
fi

dmg="dist/$name-$version-macos-$machine$suffix.dmg"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
ditto "$app" "$stage/$name.app"
ln -s /Applications "$stage/Applications"  # drag the app onto it to install
rm -f "$dmg"
# hdiutil create fails now and then with "Resource busy" (seen on CI runners); a retry passes.
for attempt in 1 2 3 4 5; do
  rm -f "$dmg"  # what a failed attempt left
  if hdiutil create -volname "$name" -srcfolder "$stage" -format UDZO "$dmg"; then
    break
  fi
  if ((attempt == 5)); then exit 1; fi
  sleep $((attempt * 5))
done

if [[ -z $identity ]]; then
  echo "APPLE_SIGNING_IDENTITY not set: $dmg and the app in it are unsigned."
  exit 0
fi
codesign --force --timestamp --sign "$identity" "$dmg"
if [[ -z ${APPLE_ID:-} || -z ${APPLE_TEAM_ID:-} || -z ${APPLE_APP_PASSWORD:-} ]]; then
  echo "APPLE_ID, APPLE_TEAM_ID or APPLE_APP_PASSWORD not set: $dmg is signed, not notarized."
  exit 0
fi
credentials=(--apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" --password "$APPLE_APP_PASSWORD")
result=$(xcrun notarytool submit "$dmg" "${credentials[@]}" --wait --output-format json)
# notarytool exits 0 whatever Apple decided: the status in its answer tells.
read -r status id < <("$python" -c \
  'import json, sys; r = json.load(sys.stdin); print(r["status"], r["id"])' <<<"$result")
if [[ $status != Accepted ]]; then
  echo "Notarization of $dmg: $status. Apple's log:" >&2
  xcrun notarytool log "$id" "${credentials[@]}" >&2 || true
  exit 1
fi
xcrun stapler staple "$dmg"
echo "Signed, notarized and stapled: $dmg"
