"""XMP packets as ElementTree: parse tolerantly, read any RDF form of a value, write prefixes back as found.

RDF lets a writer spell the same XMP value several ways (attribute, element, ``rdf:parseType="Resource"``,
nested ``rdf:Description``, the struct shorthand with fields as attributes); :func:`value` reads them all into
plain ``str``/``list``/``dict`` so the region code does not care which tool wrote the file.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from xml.sax.saxutils import escape, quoteattr

log = logging.getLogger(__name__)

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XML = "http://www.w3.org/XML/1998/namespace"


def qname(ns: str, local: str) -> str:
    """ElementTree's ``{namespace}local`` name."""
    return f"{{{ns}}}{local}"


RDF_RDF, RDF_DESCRIPTION, RDF_LI = qname(NS_RDF, "RDF"), qname(NS_RDF, "Description"), qname(NS_RDF, "li")
RDF_BAG, RDF_SEQ, RDF_ALT = qname(NS_RDF, "Bag"), qname(NS_RDF, "Seq"), qname(NS_RDF, "Alt")
RDF_PARSE_TYPE, RDF_ABOUT = qname(NS_RDF, "parseType"), qname(NS_RDF, "about")
RDF_RESOURCE = qname(NS_RDF, "resource")

PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
PACKET_END = '\n<?xpacket end="w"?>\n'
_NOT_PROPERTIES = (f"{{{NS_RDF}}}", f"{{{NS_XML}}}")


@dataclass
class Packet:
    """A parsed XMP packet; ``prefixes`` maps each namespace URI to the prefix the file used for it."""

    root: ET.Element
    rdf: ET.Element
    prefixes: dict[str, str]

    @classmethod
    def new(cls, toolkit: str) -> Packet:
        root = ET.Element(qname(NS_X, "xmpmeta"), {qname(NS_X, "xmptk"): toolkit})
        rdf = ET.SubElement(root, RDF_RDF)
        ET.SubElement(rdf, RDF_DESCRIPTION, {RDF_ABOUT: ""})
        return cls(root, rdf, {})

    def descriptions(self) -> list[ET.Element]:
        """The top-level rdf:Description elements (writers often split namespaces over several)."""
        found = [d for d in self.rdf if d.tag == RDF_DESCRIPTION]
        if not found:
            found = [ET.SubElement(self.rdf, RDF_DESCRIPTION, {RDF_ABOUT: ""})]
        return found

    def properties(self) -> dict[str, object]:
        """All top-level properties, merged over the packet's rdf:Description elements."""
        merged: dict[str, object] = {}
        for description in self.descriptions():
            for key, item in fields(description).items():
                merged.setdefault(key, item)
        return merged

    def remove(self, *names: str) -> None:
        """Take these top-level properties out, whichever form they are written in."""
        for description in self.descriptions():
            for name in names:
                description.attrib.pop(name, None)
                for child in description.findall(name):
                    description.remove(child)

    def to_text(self, preferred_prefixes: dict[str, str]) -> str:
        """The packet as text with its ``<?xpacket?>`` wrapper."""
        return PACKET_BEGIN + serialize(self.root, {**preferred_prefixes, **self.prefixes}) + PACKET_END


#: Deeper than any XMP writer nests (regions are about ten levels deep); refusing deeper packets keeps the
#: recursive readers below far from Python's recursion limit whatever the input.
MAX_DEPTH = 64
# XML 1.0's Char production: what an XML document may hold at all.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml\b[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml\b[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
# Byte order marks, UTF-32 before UTF-16 (the UTF-32-LE mark starts with the UTF-16-LE one).
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xef\xbb\xbf", "utf-8"),
)


def decode(data: bytes) -> str:
    """The text of an XML document in any encoding XML allows; raises ValueError when it cannot be decoded.

    Decoding comes first so that every later check (the DOCTYPE refusal above all) sees characters, not
    bytes: a UTF-16 or UTF-32 file cannot hide ``<!DOCTYPE`` between NUL bytes.
    """
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            return data[len(mark):].decode(encoding)
    sniffed = _sniff(data)
    if sniffed:
        return data.decode(sniffed)
    declared = _DECLARED_ENCODING.match(data)
    if declared:
        encoding = declared.group(1).decode("ascii").lower()
        try:
            # Only encodings that keep ASCII as ASCII can be told by a declaration written in ASCII.
            if "ab<".encode(encoding) == b"ab<":
                return data.decode(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None
    return data.decode("utf-8")


def _sniff(data: bytes) -> str | None:
    """UTF-16/32 without a byte order mark, told by the NULs after the first '<' and where it falls.

    XML 1.0, appendix F: '<' is one code unit, so NUL bytes right after it mean a wide encoding; the '<'
    sits at an even offset in UTF-16-LE, an odd one in UTF-16-BE, offset 0 (mod 4) in UTF-32-LE, 3 in -BE.
    """
    first = data.find(b"<", 0, 4096)
    if first < 0:
        return None
    after = data[first + 1 : first + 4]
    if after == b"\x00\x00\x00":
        return {0: "utf-32-le", 3: "utf-32-be"}.get(first % 4)
    if after[:1] == b"\x00":
        return "utf-16-le" if first % 2 == 0 else "utf-16-be"
    return None


def parse_packet(data: bytes, source: str) -> Packet | None:
    """Parse an XMP packet or sidecar; None (and one warning line naming ``source``) when it is not usable.

    Never raises, whatever the bytes: the text is decoded first (UTF-8, UTF-16, UTF-32, or a declared
    ASCII-compatible encoding), any DOCTYPE or entity declaration is refused in whatever encoding it came
    (XMP never has a DTD; refusing one rules out entity expansion), and nesting deeper than MAX_DEPTH is
    refused. Parsing is linear in the size of the input.
    """
    try:
        text = decode(data)
    except (UnicodeDecodeError, ValueError) as e:
        log.warning("XMP: ignoring %s: its text cannot be decoded (%s)", source, _one_line(e))
        return None
    text = text.strip("\x00 \t\r\n\ufeff")
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        log.warning("XMP: ignoring %s: it has a DOCTYPE", source)
        return None
    prefixes: dict[str, str] = {}
    depth = 0
    try:
        body = _XML_DECLARATION.sub("", text, count=1).encode("utf-8", "surrogatepass")
        events = ET.iterparse(BytesIO(body), events=("start", "end", "start-ns"))
        for event, item in events:
            if event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    log.warning("XMP: ignoring %s: nested deeper than %d levels", source, MAX_DEPTH)
                    return None
            elif event == "end":
                depth -= 1
            else:
                prefix, uri = item
                if prefix:
                    prefixes.setdefault(uri, prefix)
        root = events.root  # type: ignore[attr-defined]
    except (ET.ParseError, UnicodeError, ValueError) as e:
        log.warning("XMP: ignoring malformed XMP in %s (%s)", source, _one_line(e))
        return None
    rdf = root if root.tag == RDF_RDF else root.find(f".//{RDF_RDF}")
    if rdf is None:
        log.warning("XMP: ignoring %s: no rdf:RDF element", source)
        return None
    return Packet(root, rdf, prefixes)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]


def fields(element: ET.Element) -> dict[str, object]:
    """A struct's fields: property attributes and child elements, keyed by ``{namespace}local``."""
    found: dict[str, object] = {}
    for key, text in element.attrib.items():
        if not key.startswith(_NOT_PROPERTIES):
            found.setdefault(key, text)
    for child in element:
        found.setdefault(child.tag, value(child))
    return found


def value(element: ET.Element) -> object:
    """An RDF property value as str, list (Bag/Seq/Alt) or dict (struct), whichever RDF form it is in."""
    if element.get(RDF_PARSE_TYPE) == "Resource":
        return fields(element)
    if RDF_RESOURCE in element.attrib:
        return element.attrib[RDF_RESOURCE]
    for child in element:
        if child.tag in (RDF_BAG, RDF_SEQ, RDF_ALT):
            return [value(item) for item in child if item.tag == RDF_LI]
        if child.tag == RDF_DESCRIPTION:
            return fields(child)
    if len(element) or any(not key.startswith(_NOT_PROPERTIES) for key in element.attrib):
        return fields(element)  # struct shorthand: fields as attributes of the property element
    return (element.text or "").strip()


def field(struct: object, local: str) -> object | None:
    """A struct field by local name whatever its namespace (tools disagree on stDim's, for one)."""
    if not isinstance(struct, dict):
        return None
    for key, item in struct.items():
        if str(key).rpartition("}")[2] == local:
            found: object = item
            return found
    return None


def strings(item: object) -> list[str]:
    """An array property's non-empty text items (a lone string counts as one item)."""
    if isinstance(item, str):
        return [item] if item else []
    if isinstance(item, list):
        return [v for v in item if isinstance(v, str) and v]
    return []


def resource(parent: ET.Element, tag: str) -> ET.Element:
    """A struct child written as ``rdf:parseType="Resource"``."""
    return ET.SubElement(parent, tag, {RDF_PARSE_TYPE: "Resource"})


def text(parent: ET.Element, tag: str, content: str) -> None:
    ET.SubElement(parent, tag).text = content


def array(tag: str, kind: str, items: Iterable[str]) -> ET.Element:
    """An array property (``kind`` is RDF_BAG, RDF_SEQ or RDF_ALT) of text items."""
    element = ET.Element(tag)
    container = ET.SubElement(element, kind)
    for item in items:
        text(container, RDF_LI, item)
    return element


def _xml_chars(text: str) -> str:
    bad = _NOT_XML_CHAR.search(text)
    if bad:
        raise ValueError(f"U+{ord(bad.group()):04X} cannot be written in XML (at position {bad.start() + 1})")
    return text


def xml_text(text: str) -> str:
    """Element content escaped for XML; raises ValueError on a character XML cannot hold at all.

    ``\r`` is written as a character reference, since a parser would turn a raw one into ``\n``.
    """
    return escape(_xml_chars(text)).replace("\r", "&#13;")


def xml_attribute(text: str) -> str:
    """An attribute value, quoted and escaped (tabs and line breaks as references, which parsers keep)."""
    return quoteattr(_xml_chars(text))


def serialize(root: ET.Element, prefixes: dict[str, str]) -> str:
    """XML text keeping the given prefixes (ElementTree's writer would rename them ns0, ns1...).

    The only way this package writes XML: every text and attribute goes through :func:`xml_text` /
    :func:`xml_attribute`, so the output is well-formed whatever the values (or ValueError is raised).

    Namespaces are declared where XMP writers put them: each top-level rdf:Description declares those of
    its properties, so simple line-oriented readers still find them.
    """
    ET.indent(root, space=" ")
    chosen: dict[str, str] = {NS_XML: "xml"}
    taken = {"xml"}

    def uris_of(elements: Iterable[ET.Element]) -> list[str]:
        uris: list[str] = []
        for element in elements:
            for name in (element.tag, *element.attrib):
                uri = name[1:].partition("}")[0] if name.startswith("{") else None
                if uri is not None and uri != NS_XML and uri not in uris:
                    uris.append(uri)
        return uris

    for uri in uris_of(root.iter()):
        base = prefixes.get(uri) or "ns"
        prefix, n = base, 1
        while prefix in taken:
            prefix, n = f"{base}{n}", n + 1
        chosen[uri] = prefix
        taken.add(prefix)

    def name_of(name: str) -> str:
        if not name.startswith("{"):
            return name
        uri, _, local = name[1:].partition("}")
        return f"{chosen[uri]}:{local}"

    out: list[str] = []

    def emit(element: ET.Element, declared: frozenset[str], whole_subtree: bool) -> None:
        scope = element.iter() if whole_subtree else [element]
        new = [u for u in uris_of(scope) if u not in declared]
        declared = declared | set(new)
        out.append("<" + name_of(element.tag))
        out.extend(f" xmlns:{chosen[u]}={quoteattr(u)}" for u in new)
        out.extend(f" {name_of(k)}={xml_attribute(v)}" for k, v in element.attrib.items())
        if not len(element) and not element.text:
            out.append("/>")
        else:
            out.append(">" + xml_text(element.text or ""))
            for child in element:
                emit(child, declared, element.tag == RDF_RDF or whole_subtree)
            out.append(f"</{name_of(element.tag)}>")
        out.append(xml_text(element.tail or ""))

    emit(root, frozenset(), False)
    return "".join(out)
