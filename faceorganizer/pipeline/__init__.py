"""The per-photo face pipeline: decode → detect (MTCNN) → align (dlib framing) → quality and attributes."""
