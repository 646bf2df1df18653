import sys

from faceorganizer.cli import main

sys.exit(main())
