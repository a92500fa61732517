"""The wire format of Open Inference Protocol v2 requests as Triton's clients send them:
bodies compressed with gzip or deflate, and Triton's binary tensor data extension (the JSON
header, then each binary tensor's bytes, BYTES elements as a 4-byte little-endian length and
the bytes). Pure functions over bytes, every size checked against what the body really holds."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np

from shared import errors
from shared.errors import DataError

#: the header that says how many bytes of the (inflated) body are the JSON header
HEADER_LENGTH = "Inference-Header-Content-Length"
ENCODING = "Content-Encoding"
#: zlib's window bits for each Content-Encoding ("deflate" is the zlib format, RFC 9110)
WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class TooLarge(errors.TooLarge):
    """A body that inflates past the server's limit."""


class UnsupportedEncoding(errors.Unsupported):
    """A Content-Encoding other than gzip, deflate or identity."""


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """``body`` decoded by its Content-Encoding, never inflating past ``limit`` bytes (a
    zip bomb stops there)."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in WBITS:
        raise UnsupportedEncoding(
            f"Content-Encoding {coding[:32]!r} is not supported; send gzip, deflate or identity",
            field=ENCODING,
        )
    inflater = zlib.decompressobj(WBITS[coding])
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise DataError(f"the body is not valid {coding} data: {exc}", field=ENCODING) from None
    if len(data) > limit:
        raise TooLarge(f"the body inflates past {limit} bytes", field="body")
    if not inflater.eof or inflater.unused_data:
        raise DataError(f"the {coding} data is cut short or followed by other bytes", field="body")
    return data


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary data after it (none without the header)."""
    if header_length is None:
        return body, b""
    text = header_length.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise DataError("must be the JSON header's length in bytes", field=HEADER_LENGTH)
    length = int(text)
    if length > len(body):
        raise DataError(
            f"says the JSON header has {length} bytes, but the body has {len(body)}",
            field=HEADER_LENGTH,
        )
    return body[:length], body[length:]


def binary_parts(sizes: Sequence[object], binary: bytes) -> list[bytes | None]:
    """Each input's slice of ``binary`` by its ``binary_data_size`` (None: the input has its
    data in the JSON), in order; the sizes must add up to exactly the binary data."""
    parts: list[bytes | None] = []
    offset = 0
    for index, size in enumerate(sizes):
        if size is None:
            parts.append(None)
            continue
        field = f"inputs[{index}].parameters.binary_data_size"
        if type(size) is not int or size < 0:
            raise DataError("must be a byte count (a non-negative integer)", field=field)
        if offset + size > len(binary):
            raise DataError(
                f"{size} bytes from offset {offset}, past the end of the "
                f"{len(binary)} bytes of binary data",
                field=field,
            )
        parts.append(binary[offset : offset + size])
        offset += size
    if offset != len(binary):
        raise DataError(
            f"{len(binary) - offset} bytes after the JSON header belong to no input",
            field=HEADER_LENGTH,
        )
    return parts


def texts(raw: bytes, field: str) -> list[str]:
    """The elements of a binary BYTES tensor (each a 4-byte little-endian length, then its
    bytes), as UTF-8 text."""
    found: list[str] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise DataError("ends inside an element's 4-byte length", field=field)
        (size,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + size > len(raw):
            raise DataError(
                f"element {len(found)} says {size} bytes, past the end of the data", field=field
            )
        try:
            found.append(raw[offset : offset + size].decode("utf-8"))
        except UnicodeDecodeError:
            raise DataError("is not UTF-8 text", field=f"{field}[{len(found)}]") from None
        offset += size
    return found


def tensor_bytes(values: np.ndarray) -> bytes:
    """A numeric or BOOL tensor's binary data: its values in row-major, little-endian order."""
    return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()
