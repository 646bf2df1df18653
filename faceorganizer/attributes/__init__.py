"""Face attributes beyond identity: the filter language, user-taught attributes, attribute clustering and
person/group summaries. Plain Python over the store (no Qt)."""

from faceorganizer.errors import FaceOrganizerError


class NotEnoughFacesError(FaceOrganizerError):
    """Too few faces (or taught examples) for a prediction, a clustering or a summary chart."""
