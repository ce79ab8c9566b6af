#!/usr/bin/env python3
"""Generates the pickle fixtures for model/pickle tests.

Run from this directory: python3 gen.py
Writes <case>_p<protocol>.pkl for every case and protocol, and cases.json
listing each file with the canonical form of the value it holds (see canon),
or the error the Go decoder must report.
"""
import collections
import hashlib
import json
import math
import pickle
import struct


def canon(v, seen=None):
    """Canonical text form, mirrored by canon() in model/pickle tests."""
    seen = seen or set()
    if isinstance(v, (list, dict, set)) and id(v) in seen:
        return "<cycle>"
    if v is None:
        return "N"
    if v is True:
        return "T"
    if v is False:
        return "F"
    if isinstance(v, int):
        return "i%d" % v
    if isinstance(v, float):
        if math.isnan(v):
            return "fnan"
        return "f" + struct.pack(">d", v).hex()
    if isinstance(v, str):
        return "s" + v.encode("utf-8", "surrogatepass").hex()
    if isinstance(v, (bytes, bytearray)):
        return "b" + bytes(v).hex()
    inner = seen | {id(v)}
    if isinstance(v, tuple):
        return "(" + "".join(canon(x, inner) + "," for x in v) + ")"
    if isinstance(v, list):
        return "[" + "".join(canon(x, inner) + "," for x in v) + "]"
    if isinstance(v, dict):
        return "{" + "".join(canon(k, inner) + ":" + canon(x, inner) + "," for k, x in v.items()) + "}"
    if isinstance(v, (set, frozenset)):
        name = "frozenset" if isinstance(v, frozenset) else "set"
        return name + "{" + "".join(sorted(canon(x, inner) + "," for x in v)) + "}"
    raise TypeError(type(v))


class Point:
    def __init__(self):
        self.x = 1
        self.y = "two"


def rebuild(a, b):
    return (a, b)


class Reduced:
    def __reduce__(self):
        return (rebuild, (1, "x"))


class KwNew:
    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __init__(self, kw):
        self.kw = kw

    def __getnewargs_ex__(self):
        return ((1,), self.kw)


class Persisting(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Stored):
            return obj.pid
        return None


class Stored:
    def __init__(self, pid):
        self.pid = pid


def selfref():
    l = [1]
    l.append(l)
    return l


shared = ["shared", 1.5]
ALL = [0, 1, 2, 3, 4, 5]
P2UP = [2, 3, 4, 5]
P4UP = [4, 5]

# (name, value, protocols, expected canon or None to compute, expected error)
CASES = [
    ("none_bool", [None, True, False], ALL, None, ""),
    ("ints", [0, 1, -1, 255, 256, 65535, 65536, -129, 2**31 - 1, -2**31, 2**31, -2**31 - 1,
              2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**64, -2**64, 2**100, -(2**100), 10**40], ALL, None, ""),
    ("floats", [0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, math.inf, -math.inf, math.nan, 0.1], ALL, None, ""),
    ("strings", ["", "hello", "snow \u2603 face \U0001F600", "back\\slash \\u1234 literal", "line\nbreak\r",
                 "quote's \"double\"", "\x00\x7f\x80\xff", "x" * 300], ALL, None, ""),
    ("bytes", [b"", b"\x00\xff", b"abc", b"y" * 300, bytearray(b"ba")], ALL, None, ""),
    ("tuples", [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((1, (2, (3, ()))),)], ALL, None, ""),
    ("lists", [[], [1], list(range(1500)), [[[]]]], ALL, None, ""),
    ("dict_keys", {b"x": 1, "x": 2, 1: "one", (1, "b"): "tuple", None: 0, 2.5: "float", -7: [],
                   (b"k", (None,)): "nested"}, ALL, None, ""),
    ("ordereddict", collections.OrderedDict([("b", 1), ("a", 2), ("c", collections.OrderedDict())]), ALL,
     None, ""),
    ("sets", [set(), {1, 2, 3}, frozenset(), frozenset({"a", "b"}), {(1, 2), b"z"}], ALL, None, ""),
    ("memo", [shared, shared, {"k": shared}, (shared, shared)] + [("t%d" % i, shared) for i in range(300)],
     ALL, None, ""),
    ("selfref", selfref(), ALL, "[i1,<cycle>,]", ""),
    ("frames", ["%04d" % i + "z" * 1000 for i in range(80)], P4UP, None, ""),
    ("object", Point(), P2UP, "o__main__.Point()st{s78:i1,s79:s74776f,}", ""),
    ("reduce", [Reduced(), Reduced()], ALL, "[o__main__.rebuild(i1,s78,),o__main__.rebuild(i1,s78,),]", ""),
    ("newobj_ex", KwNew({}), P4UP, "o__main__.KwNew(i1,)st{s6b77:{},}", ""),
    ("newobj_ex_kwargs", KwNew({"k": 2}), P4UP, None, "keyword arguments"),
    ("persistent", [Stored(("storage", "k0", 3)), Stored(("storage", "k0", 3))], [1, 2, 3, 4, 5],
     "[p(s73746f72616765,s6b30,i3,),p(s73746f72616765,s6b30,i3,),]", ""),
    ("persistent_text", [Stored("abc")], [0], "[ps616263,]", ""),
]


def main():
    out = []
    for name, value, protocols, want, err in CASES:
        for p in protocols:
            fn = "%s_p%d.pkl" % (name, p)
            with open(fn, "wb") as f:
                Persisting(f, protocol=p).dump(value)
            c = "" if err else (want or canon(value))
            if len(c) > 300:
                c = "sha256:" + hashlib.sha256(c.encode()).hexdigest()
            out.append({"name": name, "protocol": p, "file": fn, "canon": c, "error": err})
    with open("cases.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
