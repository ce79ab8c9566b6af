"""Regenerates vectors.json for model/tokenizer's tests (offline reference data).

Needs: pip install tiktoken regex. Run from the repository root:
    python3 testdata/tokenizer/gen_vectors.py
Pieces come from Python `regex` with each pattern, ids from tiktoken itself (Rust
fancy-regex + CoreBPE) with the golden vocabulary and that pattern, decode
outputs from CPython's bytes.decode("utf-8", errors="replace").
"""
import json
import pickle
import random

import regex
import tiktoken

PATTERNS = {
    "nanochat": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""",
    "gpt4": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""",
    "cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "cl100k_legacy": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
}

# Characters chosen to hit every class boundary; all are stable since Unicode 6.
ALPHABET = (
    list("abcdsmtlvreSDMTLVREK") + list("0123456789") + list("'''.,!?;:-_\"()[]{}<>#$%&*+/=@\\^`|~")
    + [" "] * 6 + ["\t", "\n", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680",
                   "\u2000", "\u2009", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff"]
    + ["\u017f", "\u212a", "\u0130", "\u0131", "é", "ß", "中", "ǅ", "ʰ", "\u0301", "\u0663", "\u2166",
       "²", "½", "🤖", "\u2019", "€", "\x00", "\x7f", "\ufffd"]
)

FIXED = [
    "", "a", " ", "  ", "\n", " \n", "\n ", "a\n  ", "a  \n", "x  ", "x \n \n  y", "\t\n\t",
    "'s", "'S", "'\u017fx", "'ll'LL'Ll've'VE're'Re'd'm't", "'l", "'lx", "'v", "'r", "'", "''s",
    "\u212a'\u212a", "1234567", "١٢٣٤", "Ⅻ½²³", "a1b22c333", " 12", "  12", "$1234", "!!\r\n\r\n",
    " !\n", " \u00a0x", "\u00a01", "\u3000\u3000x", "\x1c\x1d\x1e\x1fx", "a\x85b", "end   ",
    "e\u0301t\u0301", "\u200bword", "x\r\r\r", "x\r \r y", "🤖🤖 🤖", "a  b   c    d",
]

# Byte strings for errors="replace".
DECODE_FIXED = [
    b"", b"abc", b"\x80", b"a\x80b", b"\xbf\xbf", b"\xe2\x82", b"\xe2\x82a", b"\xe2\x82\xac",
    b"\xc0\x80", b"\xc1\xbf", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
    b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80", b"\xff\xfe", b"\xe0\x80\x80", b"\xe0\xa0\x80",
    b"\xf0\x80\x80\x80", b"\xf0\x90\x80", b"\xf0\x90\x80a", b"\xf0\x90", b"\xf0", b"\xc2", b"\xc2a",
    b"\xe2\x28\xa1", b"\xf1\x80\x80\xe2\x82\xac", b"\xdf\xdf", b"\xe1\x80\xe1\x80\x80",
]


def main():
    rnd = random.Random(1234)
    with open("testdata/golden/home/tokenizer/tokenizer.pkl", "rb") as f:
        enc = pickle.load(f)
    ranks = enc._mergeable_ranks
    texts = list(FIXED)
    for _ in range(300):
        n = rnd.randint(1, 24)
        texts.append("".join(rnd.choice(ALPHABET) for _ in range(n)))
    splits = []
    for name, pat in PATTERNS.items():
        e = tiktoken.Encoding(name="t_" + name, pat_str=pat, mergeable_ranks=ranks, special_tokens={})
        r = regex.compile(pat)
        for t in texts:
            pieces = r.findall(t)
            assert "".join(pieces) == t, (name, t)
            splits.append({"pattern": name, "text": t, "pieces": pieces, "ids": e.encode_ordinary(t)})

    decodes = [bytes(b) for b in DECODE_FIXED]
    pool = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
            0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFE, 0xFF]
    for _ in range(300):
        decodes.append(bytes(rnd.choice(pool) for _ in range(rnd.randint(1, 10))))
    dec = [{"hex": b.hex(), "text": b.decode("utf-8", errors="replace")} for b in decodes]

    out = {"generator": "testdata/tokenizer/gen_vectors.py", "tiktoken": tiktoken.__version__,
           "regex": regex.__version__, "patterns": PATTERNS, "splits": splits, "decode_replace": dec}
    with open("testdata/tokenizer/vectors.json", "w") as f:
        json.dump(out, f, ensure_ascii=True, indent=0)


if __name__ == "__main__":
    main()
