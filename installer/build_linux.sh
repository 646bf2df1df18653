#!/usr/bin/env bash
# Build the Linux app bundle into dist/FaceOrganizer and, with --install, add it to the desktop menu
# (~/.local: the .desktop entry and the icon at every size in resources/png).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash installer/setup.sh
.venv/bin/python -m pip install -q "pyinstaller==6.22.3" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
  installer/faceorganizer.spec
echo "built dist/FaceOrganizer/FaceOrganizer"
if [ "${1:-}" = "--install" ]; then
  apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
  icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor"
  mkdir -p "$apps" "$HOME/.local/bin"
  ln -sf "$PWD/dist/FaceOrganizer/FaceOrganizer" "$HOME/.local/bin/FaceOrganizer"
  install -m 644 installer/faceorganizer.desktop "$apps/faceorganizer.desktop"
  for png in resources/png/faceorganizer-*.png; do
    size=$(basename "$png" .png | sed 's/faceorganizer-//')
    mkdir -p "$icons/${size}x${size}/apps"
    install -m 644 "$png" "$icons/${size}x${size}/apps/faceorganizer.png"
  done
  [ -f resources/faceorganizer.svg ] && mkdir -p "$icons/scalable/apps" && \
    install -m 644 resources/faceorganizer.svg "$icons/scalable/apps/faceorganizer.svg"
  command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
  echo "installed the desktop entry and icons under ~/.local"
fi
