"""Reading an OIP v2 inference request as Triton's and KServe's clients send it: maybe
compressed, maybe with binary tensor data after its JSON header."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from services.api.domain.oip import InferIn
from shared import oip_wire as wire
from shared.errors import DataError, msgspec_location


def _wire_error(exc: DataError) -> DataError:
    """The wire's error (413 for a body that inflates too far, 415 for an unknown encoding,
    else 400) with its field in the message too: OIP clients show only ``error``."""
    return type(exc)(f"{exc.field}: {exc.message}", field=exc.field)


def _decode_error(exc: msgspec.DecodeError) -> DataError:
    """msgspec's error with the body's offending field named (``inputs[0].name``)."""
    detail, path = msgspec_location(str(exc))
    if not isinstance(exc, msgspec.ValidationError):
        detail = f"the request body could not be read: {detail}"
    return DataError(detail, field=path or "body")


def read_request(body: bytes, headers: Mapping[str, str], limit: int) -> InferIn:
    """An inference request as Triton's and KServe's clients send it: maybe compressed
    (gzip, deflate; at most ``limit`` bytes inflated), maybe with binary tensor data after
    its JSON header; binary BYTES tensors become their texts."""
    try:
        inflated = wire.inflate(body, headers.get(wire.ENCODING), limit)
        header, binary = wire.split_body(inflated, headers.get(wire.HEADER_LENGTH))
        request = msgspec.json.decode(header, type=InferIn)
        sizes = [(t.parameters or {}).get("binary_data_size") for t in request.inputs]
        for index, (tensor, raw) in enumerate(
            zip(request.inputs, wire.binary_parts(sizes, binary), strict=True)
        ):
            if raw is not None and tensor.data is not None:
                raise DataError(
                    "has both data and binary_data_size; send one", field=f"inputs[{index}]"
                )
            if raw is not None and tensor.datatype == "BYTES":
                tensor.data = wire.texts(raw, f"inputs[{index}].data")
    except DataError as exc:
        raise _wire_error(exc) from None
    except msgspec.DecodeError as exc:
        raise _decode_error(exc) from None
    return request
