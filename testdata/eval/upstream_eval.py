"""Reference accuracies for the demo model on the toy task files, computed
with upstream nanochat's own task code and chat_eval loops, and a numpy
re-implementation of the model forward (A7, spec §1.2) and of
Engine.generate (greedy, calculator tool) — torch is not installable here.

    python3 upstream_eval.py /path/to/nanochat [limit] > upstream_eval.json

Checks itself first against the golden logits of the A7 golden checkpoint
(|Δlogit| must be < 1e-4). Prints per task: accuracy and per-item outcome
(predicted letter / completion), in upstream's item order.
"""
import json
import os
import pickle
import sys
import types
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.argv += [] if len(sys.argv) > 2 else ["0"]
UPSTREAM, LIMIT = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, UPSTREAM)
sys.modules["rustbpe"] = types.ModuleType("rustbpe")
common = types.ModuleType("nanochat.common")
common.get_base_dir = lambda: "/nonexistent"
sys.modules["nanochat.common"] = common
import pyarrow as pa  # noqa: E402
import tasks.common as tc  # noqa: E402
from nanochat.tokenizer import RustBPETokenizer  # noqa: E402

# ---------------------------------------------------------------- checkpoint
DT = {"FloatStorage": np.float32, "BFloat16Storage": "bf16", "LongStorage": np.int64, "IntStorage": np.int32}


def load_pt(path):
    z = zipfile.ZipFile(path)
    pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
    prefix = pkl[: -len("data.pkl")]

    def storage(kind, key, numel):
        raw = z.read(prefix + "data/" + key)
        if DT[kind] == "bf16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            return u.view(np.float32)
        return np.frombuffer(raw, dtype=DT[kind])

    class U(pickle.Unpickler):
        def find_class(self, mod, name):
            if name == "_rebuild_tensor_v2":
                def rebuild(st, off, size, stride, *a):
                    if not size:
                        return st[off:off + 1].reshape(()).astype(np.float32)
                    return np.lib.stride_tricks.as_strided(st[off:], size, [s * st.itemsize for s in stride]).astype(np.float32)
                return rebuild
            if mod == "torch":
                return name
            if mod == "collections" and name == "OrderedDict":
                import collections
                return collections.OrderedDict
            return super().find_class(mod, name)

        def persistent_load(self, pid):
            _, kind, key, _, numel = pid
            return storage(kind, key, numel)

    sd = U(z.open(pkl)).load()
    return {k.removeprefix("_orig_mod."): v for k, v in sd.items()}


# ---------------------------------------------------------------- model (A7)
EPS = np.float32(2.0 ** -23)


def norm(x):
    return (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS)).astype(np.float32)


class Model:
    def __init__(self, sd, cfg):
        self.w, self.c = sd, cfg
        L, seq = cfg["n_layer"], cfg["sequence_len"]
        pat = cfg.get("window_pattern", "L").upper()
        S = -(-seq // 4 // 128) * 128
        self.win = [S if pat[i % len(pat)] == "S" else seq for i in range(L)]
        self.win[-1] = seq
        self.hd = cfg["n_embd"] // cfg["n_head"]
        inv = (1.0 / (np.float32(100000) ** (np.arange(0, self.hd, 2, dtype=np.float32) / np.float32(self.hd)))).astype(np.float32)
        t = np.arange(10 * seq, dtype=np.float32)
        f = np.outer(t, inv).astype(np.float32)
        self.cos, self.sin = np.cos(f).astype(np.float32), np.sin(f).astype(np.float32)

    def rope(self, x, T):  # x [T, H, hd]
        d = self.hd // 2
        c, s = self.cos[:T, None, :], self.sin[:T, None, :]
        x1, x2 = x[..., :d], x[..., d:]
        return np.concatenate([x1 * c + x2 * s, -x1 * s + x2 * c], axis=-1)

    def forward(self, idx):
        w, c = self.w, self.c
        T, H, KV, hd = len(idx), c["n_head"], c["n_kv_head"], self.hd
        x = norm(w["transformer.wte.weight"][idx])
        g = w["smear_lambda"].reshape(-1)[0] / (1 + np.exp(-(x[1:, :24] @ w["smear_gate.weight"].T)))
        x = x.copy()
        x[1:] = x[1:] + g * x[:-1].copy()
        x0 = x
        pos = np.arange(T)
        for i in range(c["n_layer"]):
            p = f"transformer.h.{i}."
            x = w["resid_lambdas"][i] * x + w["x0_lambdas"][i] * x0
            h = norm(x)
            q = (h @ w[p + "attn.c_q.weight"].T).reshape(T, H, hd)
            k = (h @ w[p + "attn.c_k.weight"].T).reshape(T, KV, hd)
            v = (h @ w[p + "attn.c_v.weight"].T).reshape(T, KV, hd)
            if f"value_embeds.{i}.weight" in w:
                ve = w[f"value_embeds.{i}.weight"][idx].reshape(T, KV, hd)
                gate = 3 / (1 + np.exp(-(h[:, :12] @ w[p + "attn.ve_gate.weight"].T)))
                v = v + gate[..., None] * ve
            q, k = norm(self.rope(q, T)) * np.float32(1.2), norm(self.rope(k, T)) * np.float32(1.2)
            rep = H // KV
            k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
            att = np.einsum("thd,shd->hts", q, k) / np.sqrt(np.float32(hd))
            mask = (pos[None, :] <= pos[:, None]) & (pos[:, None] - pos[None, :] <= self.win[i])
            att = np.where(mask[None], att, -np.inf)
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            y = np.einsum("hts,shd->thd", att, v).reshape(T, H * hd)
            x = x + y @ w[p + "attn.c_proj.weight"].T
            m = np.maximum(norm(x) @ w[p + "mlp.c_fc.weight"].T, 0) ** 2
            x = x + m @ w[p + "mlp.c_proj.weight"].T
            if i == c["n_layer"] // 2:
                xb = x
        x = x - w["backout_lambda"].reshape(-1)[0] * xb
        logits = (norm(x) @ w["lm_head.weight"].T)[:, : c["vocab_size"]].astype(np.float32)
        return 15 * np.tanh(logits / 15)


def golden_check():
    g = json.load(open(os.path.join(HERE, "..", "golden", "home", "golden", "e_head.json")))
    home = os.path.join(HERE, "..", "golden", "home")
    m = Model(load_pt(os.path.join(home, "base_checkpoints", "d6", "model_001000.pt")), g["config"])
    logits = m.forward(np.array(g["tokens"]))
    err = max(float(np.abs(logits[int(p)] - np.array(row)).max()) for p, row in g["logits_rows"].items())
    assert err < 1e-4, f"golden check failed: max |Δlogit| {err}"
    return err


# ---------------------------------------------------------------- engine
def load_calculator():
    src = open(os.path.join(UPSTREAM, "nanochat", "engine.py")).read()
    start, end = src.index("@contextmanager\ndef timeout"), src.index("# ----", src.index("def use_calculator"))
    ns = {}
    exec("import signal, warnings\nfrom contextlib import contextmanager\n" + src[start:end], ns)
    return ns["use_calculator"]


def generate_greedy(model, tok, prompt, max_tokens, use_calculator):
    """Engine.generate with num_samples=1, temperature 0 (argmax), the tool
    state machine and forced tokens; returns generated ids (terminal excluded)."""
    sp = {n: tok.encode_special(n) for n in ["<|python_start|>", "<|python_end|>", "<|output_start|>", "<|output_end|>", "<|assistant_end|>", "<|bos|>"]}
    ids, out, forced, in_py, expr = list(prompt), [], [], False, []
    for _ in range(max_tokens):
        if forced:
            t = forced.pop(0)
        else:
            t = int(np.argmax(model.forward(np.array(ids))[-1]))
        if t in (sp["<|assistant_end|>"], sp["<|bos|>"]):
            break
        out.append(t)
        ids.append(t)
        if t == sp["<|python_start|>"]:
            in_py, expr = True, []
        elif t == sp["<|python_end|>"] and in_py:
            in_py = False
            if expr:
                r = use_calculator(tok.decode(expr))
                if r is not None:
                    forced += [sp["<|output_start|>"]] + tok.encode(str(r)) + [sp["<|output_end|>"]]
            expr = []
        elif in_py:
            expr.append(t)
    return out


# ---------------------------------------------------------------- chat_eval
def main():
    err = golden_check()
    demo = os.path.join(HERE, "..", "demo")
    tok = RustBPETokenizer.from_directory(os.path.join(demo, "home", "tokenizer"))
    meta = json.load(open(os.path.join(demo, "home", "chatsft_checkpoints", "d4", "meta_001514.json")))
    model = Model(load_pt(os.path.join(demo, "home", "chatsft_checkpoints", "d4", "model_001514.pt")), meta["model_config"])
    calc = load_calculator()

    files = {"ARC-Easy": "arc_toy.jsonl", "MMLU": "mmlu_toy.jsonl", "GSM8K": "gsm8k_toy.jsonl"}

    def fake_load(repo_id, subset="default", split="train"):
        name = {"allenai/ai2_arc": "ARC-Easy", "cais/mmlu": "MMLU", "openai/gsm8k": "GSM8K"}[repo_id]
        with open(os.path.join(demo, "data", files[name])) as f:
            return tc.HubDataset(pa.Table.from_pylist([json.loads(l) for l in f if l.strip()]))

    import tasks.arc, tasks.gsm8k, tasks.mmlu  # noqa: E401
    for mod in (tasks.arc, tasks.gsm8k, tasks.mmlu):
        mod.load_hub_dataset = fake_load
    result = {"golden_max_abs_err": err, "tasks": {}}
    for name, make in [("ARC-Easy", lambda: tasks.arc.ARC("ARC-Easy", "test")), ("MMLU", lambda: tasks.mmlu.MMLU("all", "test")),
                       ("GSM8K", lambda: tasks.gsm8k.GSM8K("main", "test"))]:
        t = make()
        n = len(t) if LIMIT <= 0 else min(LIMIT, len(t))
        passed, items = 0, []
        for i in range(n):
            conv = t[i]
            ids = tok.render_for_completion(conv)
            if t.eval_type == "categorical":
                logits = model.forward(np.array(ids))[-1]
                letter_ids = [tok.encode(l)[0] for l in conv["letters"]]
                pred = conv["letters"][int(np.argmax(logits[letter_ids]))]
                ok = bool(t.evaluate(conv, pred))
                items.append({"row": int(t.ds.permutation[i]), "pred": pred, "pass": ok})
            else:
                comp = tok.decode(generate_greedy(model, tok, ids, 512, calc))
                ok = bool(t.evaluate(conv, comp))
                items.append({"row": int(t.ds.permutation[i]), "completion": comp, "pass": ok})
            passed += ok
        result["tasks"][name] = {"passed": passed, "n": n, "accuracy": passed / n, "items": items}
        print(f"{name}: {passed}/{n} ({100 * passed / n:.2f}%)", file=sys.stderr)
    json.dump(result, sys.stdout)


main()
