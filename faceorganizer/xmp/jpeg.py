"""JPEG segments: swap the XMP APP1 segment and copy every other byte, image data included, unchanged."""

from __future__ import annotations

XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
MAX_SEGMENT = 0xFFFF  # the 2-byte length field counts itself
_APP0, _APP1, _APP13, _COM, _SOS = 0xE0, 0xE1, 0xED, 0xFE, 0xDA


def segments(data: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """(marker, start, end) of each segment before the first scan, and where that scan (SOS) starts.

    Raises ValueError when the bytes are not a JPEG whose header can be walked.
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    found: list[tuple[int, int, int]] = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"JPEG marker expected at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == _SOS:
            return found, i
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            i += 2
            continue
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        found.append((marker, i, end))
        i = end
    raise ValueError("JPEG without image data")


def is_xmp(data: bytes, segment: tuple[int, int, int]) -> bool:
    marker, start, _end = segment
    return marker == _APP1 and data[start + 4 : start + 4 + len(XMP_HEADER)] == XMP_HEADER


def image_parts(data: bytes) -> list[bytes]:
    """Every byte but the metadata segments (APP1 Exif/XMP, APP13, comments): all that decoding reads."""
    found, scan = segments(data)
    kept = [data[s:e] for marker, s, e in found if marker not in (_APP1, _APP13, _COM)]
    return [*kept, data[scan:]]


def with_xmp(data: bytes, packet: bytes) -> bytes:
    """The JPEG with its XMP segment replaced (or added after JFIF/Exif); everything else byte for byte.

    Raises ValueError when the packet does not fit one segment or the JPEG header cannot be walked.
    """
    payload = XMP_HEADER + packet
    if len(payload) + 2 > MAX_SEGMENT:
        raise ValueError(f"XMP of {len(payload)} bytes does not fit one JPEG segment")
    found, _scan = segments(data)
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    old = [s for s in found if is_xmp(data, s)]
    if old:
        insert_at = old[0][1]
    else:
        insert_at = 2
        for marker, _start, end in found:  # after the APP0 (JFIF) and APP1 (Exif) at the head
            if marker not in (_APP0, _APP1):
                break
            insert_at = end
    out = bytearray(data[:insert_at]) + segment
    position = insert_at
    for _marker, start, end in old:
        out += data[position:start]
        position = end
    out += data[position:]
    return bytes(out)
