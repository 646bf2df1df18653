#!/usr/bin/env bash
# Build the macOS app (dist/FaceOrganizer.app). Needs Python 3.11 (python.org or Homebrew) and Xcode tools.
# Signing/notarisation: codesign --deep --sign "Developer ID Application: ..." dist/FaceOrganizer.app
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -e . "pyinstaller==6.22.3"
.venv/bin/python -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
  installer/faceorganizer.spec
echo "built dist/FaceOrganizer.app"
