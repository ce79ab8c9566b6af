"""Computes upstream nanochat's item order and render_for_completion token ids
for the eval fixtures and the demo toy sets, with upstream's own task classes.

Run once (needs numpy, pyarrow, tiktoken, filelock and a checkout of
karpathy/nanochat):
    python3 upstream_render.py /path/to/nanochat > upstream_render.json
Stubs: rustbpe (training only), nanochat.common (imports torch; only
get_base_dir is used), and load_hub_dataset (reads our local files instead of
the hub). Everything else — shuffle, get_example, render_mc, the GSM8K part
split, render_for_completion — is upstream's code.
"""
import json
import os
import sys
import types

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, sys.argv[1])
sys.modules["rustbpe"] = types.ModuleType("rustbpe")
common = types.ModuleType("nanochat.common")
common.get_base_dir = lambda: "/nonexistent"
sys.modules["nanochat.common"] = common

import tasks.common as tc  # noqa: E402
from nanochat.tokenizer import RustBPETokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "demo")
tok = RustBPETokenizer.from_directory(os.path.join(DEMO, "home", "tokenizer"))

FILES = {}  # (repo, subset) -> path, set per case below


def fake_load(repo_id, subset="default", split="train"):
    path = FILES[(repo_id, subset)]
    if path.endswith(".parquet"):
        table = pq.read_table(path)
    else:
        with open(path) as f:
            table = pa.Table.from_pylist([json.loads(line) for line in f if line.strip()])
    return tc.HubDataset(table)


tc.load_hub_dataset = fake_load
import tasks.arc, tasks.gsm8k, tasks.humaneval, tasks.mmlu  # noqa: E401,E402

for m in (tasks.arc, tasks.gsm8k, tasks.humaneval, tasks.mmlu):
    m.load_hub_dataset = fake_load

CASES = [
    ("arc-easy", "arc.jsonl", ("allenai/ai2_arc", "ARC-Easy"), lambda: tasks.arc.ARC("ARC-Easy", "test"), None),
    ("mmlu", "mmlu.parquet", ("cais/mmlu", "all"), lambda: tasks.mmlu.MMLU("all", "test"), None),
    ("gsm8k", "gsm8k.jsonl", ("openai/gsm8k", "main"), lambda: tasks.gsm8k.GSM8K("main", "test"), None),
    ("humaneval", "humaneval.jsonl", ("openai/openai_humaneval", "openai_humaneval"), lambda: tasks.humaneval.HumanEval(), None),
    ("arc-easy", "../demo/data/arc_toy.jsonl", ("allenai/ai2_arc", "ARC-Easy"), lambda: tasks.arc.ARC("ARC-Easy", "test"), 12),
    ("mmlu", "../demo/data/mmlu_toy.jsonl", ("cais/mmlu", "all"), lambda: tasks.mmlu.MMLU("all", "test"), 12),
    ("gsm8k", "../demo/data/gsm8k_toy.jsonl", ("openai/gsm8k", "main"), lambda: tasks.gsm8k.GSM8K("main", "test"), 12),
]

out = []
for task_id, file, key, make, limit in CASES:
    FILES[key] = os.path.join(HERE, file)
    t = make()
    n = len(t) if limit is None else min(limit, len(t))
    items = []
    for i in range(n):
        conv = t[i]
        items.append({
            "row": int(t.ds.permutation[i]),
            "ids": tok.render_for_completion(conv),
            "letters": list(conv.get("letters", [])),
        })
    out.append({"task": task_id, "file": file, "rows": len(t), "items": items})
json.dump(out, sys.stdout)
print()
