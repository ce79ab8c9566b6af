"""Make the transformers goldens of nanochat's Hugging Face export (not run in CI).

    NANOCHAT_HF_EXPORT_DIR=/tmp/hf-export go test -tags hfgolden ./model/hf -run TestWriteExportsForGolden
    python testdata/hf/gen_golden.py /tmp/hf-export

needs transformers >= 5 (NanoChatForCausalLM) and torch. For the A0 and A1
goldens it loads nanochat's export with transformers' own NanoChatForCausalLM,
runs the golden's 200 tokens and records the logits at the golden's rows,
with the sha256 of every exported file (model/hf's tests check our export
still has them, then that transformers' logits are within 5e-3 of
upstream's). It also re-saves the A0 export with save_pretrained (model and
tokenizer) into testdata/hf/saved_a0/, so nanochat's loader is tested on
bytes transformers wrote.
"""

import hashlib
import json
import os
import sys

import torch
import transformers
from transformers import AutoTokenizer, NanoChatForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden", "home", "golden")
TEXTS = ["Hello world! 123", "<|user_start|>What is 2+2?<|user_end|><|assistant_start|>", "  indented\n\tcode()  "]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main(root):
    for variant in ["a0_oct2025", "a_dec2025"]:
        d = os.path.join(root, variant)
        up = json.load(open(os.path.join(GOLDEN, variant + ".json")))
        files = {n: sha256(os.path.join(d, n)) for n in sorted(os.listdir(d))}
        model = NanoChatForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
        with torch.no_grad():
            logits = model(torch.tensor([up["tokens"]])).logits[0].float()
        rows = {k: [round(x, 6) for x in logits[int(k)].tolist()] for k in up["logits_rows"]}
        worst = max(abs(a - b) for k, r in rows.items() for a, b in zip(r, up["logits_rows"][k]))
        tok = AutoTokenizer.from_pretrained(d)
        out = {
            "variant": variant,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "files": files,
            "logits_rows": rows,
            "max_abs_diff_vs_upstream": worst,
            "encodings": {t: tok(t, add_special_tokens=False)["input_ids"] for t in TEXTS},
        }
        with open(os.path.join(HERE, "transformers_" + variant + ".json"), "w") as f:
            json.dump(out, f, indent=1)
        print(variant, "max |transformers - upstream| =", worst)
        if variant == "a0_oct2025":
            saved = os.path.join(HERE, "saved_a0")
            NanoChatForCausalLM.from_pretrained(d, dtype="auto").save_pretrained(saved)
            tok.save_pretrained(saved)


if __name__ == "__main__":
    main(sys.argv[1])
