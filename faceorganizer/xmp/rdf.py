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


def parse_packet(data: bytes, source: str) -> Packet | None:
    """Parse an XMP packet or sidecar; None (and a warning naming ``source``) when it is not usable XMP."""
    if re.search(rb"<!DOCTYPE", data, re.IGNORECASE):
        # XMP never has a DTD; refusing one rules out entity-expansion attacks.
        log.warning("XMP: ignoring %s: it has a DOCTYPE", source)
        return None
    prefixes: dict[str, str] = {}
    try:
        events = ET.iterparse(BytesIO(data.strip(b"\x00").strip()), events=("start-ns",))
        for _event, (prefix, uri) in events:
            if prefix:
                prefixes.setdefault(uri, prefix)
        root = events.root  # type: ignore[attr-defined]
    except ET.ParseError as e:
        log.warning("XMP: ignoring malformed XMP in %s (%s)", source, e)
        return None
    rdf = root if root.tag == RDF_RDF else root.find(f".//{RDF_RDF}")
    if rdf is None:
        log.warning("XMP: ignoring %s: no rdf:RDF element", source)
        return None
    return Packet(root, rdf, prefixes)


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
        if key.rpartition("}")[2] == local:
            return item
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


def serialize(root: ET.Element, prefixes: dict[str, str]) -> str:
    """XML text keeping the given prefixes (ElementTree's writer would rename them ns0, ns1...).

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
        out.extend(f" {name_of(k)}={quoteattr(v)}" for k, v in element.attrib.items())
        if not len(element) and not element.text:
            out.append("/>")
        else:
            out.append(">" + escape(element.text or ""))
            for child in element:
                emit(child, declared, element.tag == RDF_RDF or whole_subtree)
            out.append(f"</{name_of(element.tag)}>")
        out.append(escape(element.tail or ""))

    emit(root, frozenset(), False)
    return "".join(out)
