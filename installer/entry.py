"""Entry point of the frozen app bundle (same as the ``faceorganizer`` command)."""

import multiprocessing
import sys

from faceorganizer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the import's worker processes re-enter here in a frozen app
    sys.exit(main())
