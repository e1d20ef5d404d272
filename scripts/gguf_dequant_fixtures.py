#!/usr/bin/env python3
"""Makes tests/data/gguf/dequant/: per GGUF file, the raw bytes and llama.cpp's f32 dequantization of the first rows
of six tensors, so the dequantization tests need neither the GGUF files nor the shared fixtures.

Usage: scripts/gguf_dequant_fixtures.py SHARED_GGUF_DIR OUT_DIR [ROWS]
  SHARED_GGUF_DIR holds NAME.gguf and reference/NAME.gguf-parse.json, reference/NAME.dequant.safetensors.
Each output NAME.safetensors holds, per tensor T, `T.raw` (U8: the first ROWS rows as stored) and `T.want`
(F32 [ROWS, ne0]: the reference values of those rows); `__metadata__.types` maps T to its ggml type number.
"""
import json
import struct
import sys
from pathlib import Path

# ggml type name -> (number, elements per block, bytes per block), as ggml.h / ggml-common.h.
GGML = {
    "F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20), "Q5_0": (6, 32, 22),
    "Q5_1": (7, 32, 24), "Q8_0": (8, 32, 34), "Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176), "Q6_K": (14, 256, 210), "IQ4_NL": (20, 32, 18),
    "IQ4_XS": (23, 256, 136), "BF16": (30, 1, 2),
}


def read_safetensors(path):
    b = Path(path).read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = b[8 + n:]
    out = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", name
        lo, hi = t["data_offsets"]
        out[name] = (t["shape"], data[lo:hi])  # little-endian f32, row-major
    return out, meta


def write_safetensors(path, tensors, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    out.mkdir(parents=True, exist_ok=True)
    for ref in sorted((src / "reference").glob("*.dequant.safetensors")):
        name = ref.name[: -len(".dequant.safetensors")]
        gguf = (src / f"{name}.gguf").read_bytes()
        table = {t["name"]: t for t in json.loads((src / "reference" / f"{name}.gguf-parse.json").read_text())["tensors"]}
        want, meta = read_safetensors(ref)
        types = json.loads(meta["types"])
        tensors, numbers = {}, {}
        for tname, values in want.items():
            t = table[tname]
            assert t["type"] == types[tname], tname
            number, be, bb = GGML[t["type"]]
            ne0 = t["shape_ne"][0]
            row_bytes = ne0 // be * bb
            # gguf-py's offset counts from the start of the file (tests/data/gguf/README.md).
            raw = gguf[t["offset"]: t["offset"] + rows * row_bytes]
            shape, values = values
            assert shape[1] == ne0 and shape[0] >= rows, tname
            tensors[f"{tname}.raw"] = ("U8", [len(raw)], raw)
            tensors[f"{tname}.want"] = ("F32", [rows, ne0], values[: rows * ne0 * 4])
            numbers[tname] = number
        write_safetensors(out / f"{name}.safetensors", tensors,
                          {"types": json.dumps(numbers), "rows": str(rows), "source": f"{name}.gguf"})


if __name__ == "__main__":
    main()
