#!/usr/bin/env python3
"""Writes expect.json: what model/checkpoint must read from each real .pt file.

Independent of torch and of the Go code: the zip is read with zipfile, data.pkl
with a restricted pickle.Unpickler, and elements with struct. Run from the
repository root: python3 testdata/checkpoint/gen_expect.py
"""
import collections
import glob
import json
import pickle
import struct
import zipfile

STORAGES = {  # class name -> (dtype name, struct code, size)
    "FloatStorage": ("f32", "f", 4), "BFloat16Storage": ("bf16", "H", 2), "HalfStorage": ("f16", "e", 2),
    "DoubleStorage": ("f64", "d", 8), "LongStorage": ("i64", "q", 8), "IntStorage": ("i32", "i", 4),
    "ShortStorage": ("i16", "h", 2), "CharStorage": ("i8", "b", 1), "ByteStorage": ("u8", "B", 1),
    "BoolStorage": ("bool", "?", 1),
}


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *rest: ("tensor", storage, offset, size, stride)
        if module == "torch" and name in STORAGES:
            return name
        raise pickle.UnpicklingError("refused global %s.%s" % (module, name))

    def persistent_load(self, pid):
        kind, cls, key, location, numel = pid
        assert kind == "storage"
        return (cls, key, numel)


def element(raw, code, size, i):
    return struct.unpack_from("<" + code, raw, i * size)[0]


def as_value(dtype, v):
    """Float dtypes as the bits of their float32 value, ints as ints."""
    if dtype in ("f32", "bf16", "f16", "f64"):
        return struct.unpack("<I", struct.pack("<f", v))[0]
    return int(v)


def describe(z, prefix, name, t):
    _, (cls, key, numel), offset, shape, stride = t
    dtype, code, size = STORAGES[cls]
    raw = z.read("%s/data/%s" % (prefix, key))
    n = 1
    for d in shape:
        n *= d
    values, total = [], 0.0
    for lin in range(n):
        rem, off = lin, offset
        for d, s in zip(reversed(shape), reversed(stride)):
            off += (rem % d) * s
            rem //= d
        v = element(raw, code, size, off)
        if dtype == "bf16":
            v = struct.unpack("<f", struct.pack("<I", v << 16))[0]
        values.append(v)
    for v in values:  # sequential float64 sum in row-major order, as the Go test does
        total += float(v)
    picks = sorted({0, 1, n // 2, n - 1} & set(range(n)))
    samples = [[i, as_value(dtype, values[i])] for i in picks]
    return {"name": name, "dtype": dtype, "shape": list(shape), "stride": list(stride), "offset": offset,
            "storage": key, "samples": samples, "sum": total}


def main():
    out = []
    for path in sorted(glob.glob("testdata/golden/home/**/*.pt", recursive=True) +
                       glob.glob("testdata/demo/home/**/*.pt", recursive=True)):
        z = zipfile.ZipFile(path)
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        prefix = pkl.split("/")[0]
        top = Unpickler(z.open(pkl)).load()
        items = [("", top)] if isinstance(top, tuple) else list(top.items())
        out.append({"path": path, "prefix": prefix,
                    "tensors": [describe(z, prefix, name, t) for name, t in items]})
    with open("testdata/checkpoint/expect.json", "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
