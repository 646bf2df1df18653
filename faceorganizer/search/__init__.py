"""Finding faces: the nearest-face index, IDA score calibration and 32-bit face codes (no Qt, no store)."""
