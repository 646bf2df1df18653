# Build the Windows app bundle (dist\FaceOrganizer\FaceOrganizer.exe). Run from a PowerShell prompt with
# Python 3.11 on PATH:  powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
if (-not (Test-Path .venv\Scripts\python.exe)) { py -3.11 -m venv .venv }
.venv\Scripts\python -m pip install -e . "pyinstaller==6.22.3"
.venv\Scripts\python -m PyInstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller installer\faceorganizer.spec
Write-Host "built dist\FaceOrganizer\FaceOrganizer.exe"
# Optional installer: Inno Setup (iscc) with installer\faceorganizer.iss, if present on this machine.
