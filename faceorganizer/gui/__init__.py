"""The PySide6 desktop app. The only package of FaceOrganizer that imports Qt."""
