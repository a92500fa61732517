"""Triton's binary tensor data and compressed bodies, read as the server reads them; the
bytes are made by the real Triton client library's own serializer."""

from __future__ import annotations

import gzip
import struct
import zlib

import numpy as np
import pytest
from tritonclient.utils import serialize_byte_tensor

from shared import oip_wire as wire
from shared.errors import DataError


def test_bytes_tensors_from_the_triton_client_read_back_as_texts():
    texts = ["A man sleeps.", "", "Ünïcødé café", "x" * 70_000]
    raw = serialize_byte_tensor(np.array(texts, dtype=np.object_)).item()
    assert wire.texts(raw, "inputs[0].data") == texts


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b"\x05\x00", "inputs[0].data", "4-byte length"),
        (struct.pack("<I", 9) + b"short", "inputs[0].data", "past the end"),
        (struct.pack("<I", 2) + b"\xff\xfe", "inputs[0].data[0]", "UTF-8"),
    ],
)
def test_malformed_bytes_tensors_name_the_tensor(raw, field, words):
    with pytest.raises(DataError) as error:
        wire.texts(raw, "inputs[0].data")
    assert error.value.field == field and words in error.value.message


def test_the_header_length_splits_json_from_binary_and_must_fit_the_body():
    assert wire.split_body(b'{"a":1}BIN', "7") == (b'{"a":1}', b"BIN")
    assert wire.split_body(b'{"a":1}', None) == (b'{"a":1}', b"")
    for bad in ("99", "-1", "1e3", "٣", "9" * 40):
        with pytest.raises(DataError) as error:
            wire.split_body(b'{"a":1}', bad)
        assert error.value.field == wire.HEADER_LENGTH


def test_binary_sizes_must_add_up_to_the_binary_data():
    assert wire.binary_parts([3, None, 2], b"abcde") == [b"abc", None, b"de"]
    cases = [([3, 3], "past the end"), ([2], "belong to no input"), (["3"], "byte count")]
    for sizes, words in cases:
        with pytest.raises(DataError) as error:
            wire.binary_parts(sizes, b"abcde")
        assert words in error.value.message


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
def test_compressed_bodies_inflate_within_the_limit(encoding, compress):
    body = b'{"inputs": []}' * 100
    assert wire.inflate(compress(body), encoding.upper(), limit=len(body)) == body
    with pytest.raises(wire.TooLarge):
        wire.inflate(compress(body), encoding, limit=len(body) - 1)
    with pytest.raises(DataError, match="cut short"):
        wire.inflate(compress(body)[:-8], encoding, limit=len(body))
    with pytest.raises(DataError, match="not valid"):
        wire.inflate(b"not compressed", encoding, limit=len(body))


def test_a_zip_bomb_stops_at_the_limit():
    bomb = gzip.compress(bytes(200 * 1024 * 1024))  # 200 MiB of zeros in about 200 kB
    with pytest.raises(wire.TooLarge):
        wire.inflate(bomb, "gzip", limit=1024 * 1024)


def test_other_encodings_are_refused_and_identity_passes():
    assert wire.inflate(b"{}", None, 10) == wire.inflate(b"{}", "identity", 10) == b"{}"
    with pytest.raises(wire.UnsupportedEncoding):
        wire.inflate(b"{}", "br", 10)


def test_numeric_outputs_are_little_endian_row_major():
    values = np.array([[1.5, 2.0], [3.0, 4.25]], dtype=">f4")
    raw = wire.tensor_bytes(values)
    assert np.frombuffer(raw, dtype="<f4").tolist() == [1.5, 2.0, 3.0, 4.25]
    assert wire.tensor_bytes(np.array([True, False])) == b"\x01\x00"
