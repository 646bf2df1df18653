"""What the XMP modules share: the region type, the error, the namespaces and property names, the limits."""

from __future__ import annotations

from dataclasses import dataclass

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.xmp.rdf import NS_RDF, NS_X, qname

NS_MWG_RS = "http://www.metadataworkinggroup.com/schemas/regions/"
NS_ST_AREA = "http://ns.adobe.com/xmp/sType/Area#"
NS_ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
NS_MP = "http://ns.microsoft.com/photo/1.2/"
NS_MPRI = "http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
NS_MPREG = "http://ns.microsoft.com/photo/1.2/t/Region#"
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_DIGIKAM = "http://www.digikam.org/ns/1.0/"
NS_TIFF = "http://ns.adobe.com/tiff/1.0/"
#: Our private namespace: the mark on the regions this app wrote (see :mod:`.regions`).
NS_FACEORGANIZER = "http://ns.faceorganizer.org/xmp/1.0/"

#: Prefixes for the namespaces we write, unless the file already uses others.
PREFIXES = {
    NS_X: "x",
    NS_RDF: "rdf",
    NS_MWG_RS: "mwg-rs",
    NS_ST_AREA: "stArea",
    NS_ST_DIM: "stDim",
    NS_MP: "MP",
    NS_MPRI: "MPRI",
    NS_MPREG: "MPReg",
    NS_IPTC_EXT: "Iptc4xmpExt",
    NS_DIGIKAM: "digiKam",
    NS_FACEORGANIZER: "faceorg",
}

MWG_REGIONS, MWG_REGION_LIST = qname(NS_MWG_RS, "Regions"), qname(NS_MWG_RS, "RegionList")
MWG_DIMENSIONS, MWG_AREA = qname(NS_MWG_RS, "AppliedToDimensions"), qname(NS_MWG_RS, "Area")
MWG_NAME, MWG_TYPE = qname(NS_MWG_RS, "Name"), qname(NS_MWG_RS, "Type")
MP_REGION_INFO, MPRI_REGIONS = qname(NS_MP, "RegionInfo"), qname(NS_MPRI, "Regions")
MPREG_RECTANGLE, MPREG_NAME = qname(NS_MPREG, "Rectangle"), qname(NS_MPREG, "PersonDisplayName")
PERSON_IN_IMAGE = qname(NS_IPTC_EXT, "PersonInImage")
DIGIKAM_TAGS_LIST = qname(NS_DIGIKAM, "TagsList")
TIFF_ORIENTATION = qname(NS_TIFF, "Orientation")
APP_MARK = qname(NS_FACEORGANIZER, "Written")

#: digiKam's default root tag for people; its face tags are ``People/<name>`` in ``digiKam:TagsList``.
PEOPLE_TAG_ROOT = "People"
XMP_TOOLKIT = "FaceOrganizer"
#: Face regions read from one packet at most: a real photo has a few dozen faces at the very most, and a
#: hostile file with 10,000 regions must cost no more than this many (one warning line says what was cut).
MAX_REGIONS = 1000


class XmpWriteError(FaceOrganizerError):
    """Face regions could not be written (unreadable existing XMP, unsupported format, packet too large)."""


@dataclass(frozen=True)
class FaceRegion:
    """A named (or unnamed) face box, normalised 0..1, top-left corner, in the upright image.

    ``by_app`` is True for a region this app wrote itself (it carries our mark, and its name and box are
    still the ones we wrote): such a region is never imported back as a name (see xmp_sync).
    """

    name: str | None
    x: float
    y: float
    w: float
    h: float
    by_app: bool = False
