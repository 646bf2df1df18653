"""Application start-up: QApplication, the library (argument, last used, or default), the window, the loop."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from faceorganizer import __version__
from faceorganizer.errors import FaceOrganizerError
from faceorganizer.library import Library, preload_runtimes, torch_gpu_build
from faceorganizer.log import setup_logging
from faceorganizer.settings import load_settings, save_settings, updated
from faceorganizer.gui.workers import RUNTIMES_READY

log = logging.getLogger("faceorganizer.gui")


#: Packages whose shared libraries are opened ahead of their import, with the GIL released (see _open_libraries).
_PRELOAD_PACKAGES = ("torch", "cv2", "onnxruntime", "faiss", "scipy", "sklearn")


def _shared_libraries(package: str) -> list[str]:
    """The native libraries of an installed package (its own lib folder and the wheel's bundled ``.libs``)."""
    import glob
    import importlib.util
    import os

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = list(spec.submodule_search_locations)[0]
    found = glob.glob(os.path.join(root, "**", "*.so*"), recursive=True)
    found += glob.glob(os.path.join(os.path.dirname(root), f"{package.replace('-', '_')}*.libs", "*.so*"))
    # Test, example and compiler-backend libraries register extra operators when opened: never those.
    if package == "torch":
        wanted = ("libc10.so", "libtorch_cpu.so", "libtorch.so", "libtorch_python.so", "libtorch_global_deps.so")
        found = [f for f in found if os.path.basename(f) in wanted or os.path.basename(f).startswith("_C.")]
    return sorted(f for f in found if "test" not in os.path.basename(f))


def _open_libraries(packages: tuple[str, ...] = _PRELOAD_PACKAGES) -> None:
    """Open the native libraries of ``packages`` behind the window *without the GIL*: a ctypes call into libc's
    ``dlopen`` releases it, while Python's own import holds it through the libraries' static initialisers
    (libtorch_cpu alone froze the window for ~600 ms). The imports then find them loaded. Same flags as
    Python's imports, so nothing is made global that would not be."""
    import ctypes
    import sys as _sys

    if not _sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None)
    libc.dlopen.restype = ctypes.c_void_p
    libc.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    flags = _sys.getdlopenflags()
    for package in packages:
        for path in _shared_libraries(package):
            libc.dlopen(path.encode(), flags)  # NULL (a library that cannot open alone) is fine: import opens it


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while libraries and models load, then every object made so far
    moved out of its reach (``gc.freeze``). A full collection runs with the GIL held: amid torch's import
    (~10⁶ new objects) one took ~110 ms, freezing the window; after the freeze later full collections walk
    only what the app makes afterwards. (The few cycles the imports leave unreachable, ~7,000 objects, stay
    frozen too: collecting them first is itself a ~200 ms pass over every object.)"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _torch_first() -> bool:
    """Whether torch's libraries open before the others: with a GPU build the preload imports torch (to ask for
    CUDA). A CPU-only build is not imported to load the models (they run in onnxruntime): only to train face
    codes in a large library (``search/codes.py``), so its libraries (~110 MB, ~0.3 s) open after the models
    (:func:`_open_later`), still ahead of that import, which without them held the GIL ~230 ms."""
    return torch_gpu_build()


def _open_quietly(packages: tuple[str, ...]) -> None:
    try:
        _open_libraries(packages)
    except Exception:  # noqa: BLE001 - only an optimisation
        log.exception("opening native libraries ahead failed")


def _open_later() -> None:
    """Open what :func:`_preload` left for after the models (torch's libraries on a CPU-only build)."""
    if not _torch_first():
        _open_quietly(("torch",))


def _preload() -> None:
    first = _torch_first()
    _open_quietly(tuple(p for p in _PRELOAD_PACKAGES if first or p != "torch"))
    try:
        log.info("native libraries loaded in %.2f s", preload_runtimes())
    except Exception:  # noqa: BLE001 - a failed preload only moves the cost to the first import
        log.exception("preloading native libraries failed")
    finally:
        RUNTIMES_READY.set()


#: Set once the face models are loaded behind the window (:func:`preload_in_background` with a library).
MODELS_READY = threading.Event()


def _warm_models(library: Library) -> None:
    """Load the face models now, behind the window, each run once on a blank input: a first use creates
    onnxruntime sessions (and the expression net) while holding the GIL for tens of ms at a time, which froze
    the window in the middle of the first import when done there."""
    try:
        import numpy as np

        analyzer = library.analyzer
        analyzer.detector.detect(np.zeros((64, 64, 3), np.uint8))
        analyzer.agegender.load()
        if analyzer.expression is not None:
            analyzer.expression.predict(np.zeros((1, 112, 112, 3), np.uint8))
        analyzer.load_embedders()
    except Exception:  # noqa: BLE001 - models missing or broken: the import reports that with its fix
        log.info("face models not preloaded", exc_info=True)
    finally:
        MODELS_READY.set()


def preload_in_background(library: Library | None = None) -> threading.Thread:
    """Load the native libraries, then (given the library) the face models, behind the first window (the
    window shows in ~1–2 s instead of ~9 s)."""

    def work() -> None:
        with _collector_paused():
            _preload()
            if library is not None:
                _warm_models(library)
            _open_later()

    thread = threading.Thread(target=work, name="preload-runtimes", daemon=True)
    thread.start()
    return thread


def make_app(argv: list[str] | None = None, *, preload: bool = True) -> QApplication:
    """The QApplication (created once), named so that QSettings and the desktop find it. With ``preload`` the
    native libraries load now, before any window (tests, benches); the app itself loads them behind its window."""
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("FaceOrganizer")
    app.setOrganizationName("FaceOrganizer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("faceorganizer")
    from faceorganizer.gui import icons

    app.setWindowIcon(icons.app_icon())
    if preload and not RUNTIMES_READY.is_set():
        # Loaded once, before the first import: importing them from the import job's thread holds the GIL long
        # enough to freeze the window (measured: 186 ms stalls; see bench/bench_gui_stall.py).
        with _collector_paused():
            _preload()
            _open_later()
    return app


def open_library(path: str | None) -> Library:
    """The library named, else the one used last, else the default; remembered for next time."""
    settings = load_settings()
    folder = path or settings.library or None
    library = Library.open(folder, settings=settings)
    if str(library.folder) != settings.library:
        try:
            save_settings(updated(settings, library=str(library.folder)))
        except (OSError, FaceOrganizerError) as exc:  # not remembering the library must not stop the app
            log.warning("cannot remember the library in the settings: %s", exc)
    return library


def run(library: str | None = None) -> int:
    """Open the main window on ``library`` and run the event loop; returns the exit code."""
    started = time.perf_counter()
    setup_logging()
    from faceorganizer.gui.qtcheck import check_display

    problem = check_display()
    if problem:  # Qt would abort with "could not load the Qt platform plugin xcb", naming nothing
        log.error("%s", problem)
        print(f"faceorganizer: error: {problem}", file=sys.stderr)
        return 2
    app = make_app(preload=False)
    try:
        lib = open_library(library)
    except FaceOrganizerError as exc:
        QMessageBox.critical(None, "FaceOrganizer", f"Cannot open the library:\n{exc}")
        return 2
    from faceorganizer.gui.mainwindow import MainWindow

    window = MainWindow(lib)
    window.errors.install_excepthook()
    window.show()
    log.info("GUI started on %s: first window after %.2f s", lib.folder, time.perf_counter() - started)
    preload_in_background(lib)
    try:
        return app.exec()
    finally:
        lib.close()
