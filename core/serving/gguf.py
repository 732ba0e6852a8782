"""Reading a GGUF file's header (its key/value metadata and tensor list) without reading the weights.

gguf's own GGUFReader memory-maps the whole file and builds a numpy view for each of the ~100,000 vocabulary
and merge strings (about 5 s for the bundled SmolLM2); this walks the same header format directly and skips
long arrays (~10 ms). The type codes and names come from the gguf package (transformers needs it anyway to
load a GGUF model). tests/core/serving/test_gguf.py checks it against GGUFReader on the bundled file.
"""
from __future__ import annotations

import struct
from pathlib import Path

BIG_ARRAY = 16          # arrays longer than this (vocabulary, merges, scores) are summarised as '<N items>'
_FIRST_READ = 4 << 20   # the header sits at the start of the file (~1.8 MB for the bundled decoder)


def read_header(path: Path) -> dict[str, object]:
    """Every key of a GGUF header; long arrays (the vocabulary, merges) become '<N items>'.

    Also "GGUF.version", "GGUF.tensor_count", "GGUF.kv_count" and "(tensor types)": {storage type name: tensors}.
    Raises ValueError for a file that is not GGUF."""
    try:
        return _read(Path(path), _FIRST_READ)
    except struct.error:                 # the header is longer than the first read: read the whole file
        return _read(Path(path), -1)


def context_length(path: Path) -> int:
    """The context window written in the header (e.g. llama.context_length = 8192)."""
    header = read_header(path)
    arch = header.get("general.architecture")
    value = header.get(f"{arch}.context_length")
    if value is None:
        value = next((v for k, v in header.items() if k.endswith(".context_length")), None)
    if value is None:
        raise ValueError(f"{Path(path).name} has no context_length in its header")
    return int(value)


def _read(path: Path, size: int) -> dict[str, object]:
    from gguf import GGMLQuantizationType, GGUFValueType

    scalar = {GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H",
              GGUFValueType.INT16: "<h", GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
              GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?", GGUFValueType.UINT64: "<Q",
              GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d"}
    with open(path, "rb") as fh:
        data = fh.read(size)
    pos = 0

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = take("<Q")
        if pos + n > len(data):
            raise struct.error("string runs past the data read")
        pos += n
        return data[pos - n:pos].decode("utf-8", errors="replace")

    def value(vtype: GGUFValueType):
        nonlocal pos
        if vtype == GGUFValueType.STRING:
            return string()
        if vtype == GGUFValueType.ARRAY:
            itype, count = GGUFValueType(take("<I")), take("<Q")
            if count > BIG_ARRAY:            # skip it
                if itype == GGUFValueType.STRING:
                    for _ in range(count):
                        n = take("<Q")       # (not `pos += take(...)`: take moves pos itself)
                        pos += n
                else:
                    pos += count * struct.calcsize(scalar[itype])
                return f"<{count:,} items>"
            return [value(itype) for _ in range(count)]
        return take(scalar[vtype])

    if data[:4] != b"GGUF":
        raise ValueError(f"{path.name} is not a GGUF file")
    pos = 4
    out: dict[str, object] = {"GGUF.version": take("<I")}
    n_tensors, n_kv = take("<Q"), take("<Q")
    out["GGUF.tensor_count"], out["GGUF.kv_count"] = n_tensors, n_kv
    for _ in range(n_kv):
        name = string()
        out[name] = value(GGUFValueType(take("<I")))
    types: dict[str, int] = {}
    for _ in range(n_tensors):          # tensor infos: name, dims, storage type, offset
        string()
        n_dims = take("<I")
        pos += 8 * n_dims
        kind = GGMLQuantizationType(take("<I")).name
        types[kind] = types.get(kind, 0) + 1
        pos += 8
    if pos > len(data):                  # skipped past what was read: the header is longer
        raise struct.error("header runs past the data read")
    out["(tensor types)"] = types
    return out
