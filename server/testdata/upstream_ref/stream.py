# Records upstream nanochat's web server (chat_web.py, vendored unchanged from
# nanochat da32e1d^, MIT licence, Copyright (c) 2025 Andrej Karpathy) answering
# the requests below, with PyTorch and the model replaced by a scripted engine
# and a byte-level tokenizer: each script is the list of token byte strings the
# engine "generates" for a conversation whose last user message names it, as
# nanochat's Engine.generate yields them (forced calculator output included),
# followed by <|assistant_end|>. Everything else (the worker pool, prompt
# building, generate_stream's UTF-8 accumulation, the SSE framing, /health,
# /stats, FastAPI's 404) is chat_web.py's own code.
#
#   python -m venv v && v/bin/pip install fastapi httpx
#   v/bin/python stream.py > ../upstream_stream.json
# (recorded with fastapi 0.165.0, starlette 1.10.0, pydantic 2.14.4, httpx 0.29.0, Python 3.11).
#
# TestUpstreamStreamRecorded (server) sends the same conversations to our
# /chat/completions with a model that generates the same tokens and wants the
# same bytes; llm/remote's TestUpstreamServer drives the recording as
# `--remote` does.
import json, os, sys, types

SPECIALS = ["<|bos|>", "<|user_start|>", "<|user_end|>", "<|assistant_start|>", "<|assistant_end|>",
            "<|python_start|>", "<|python_end|>", "<|output_start|>", "<|output_end|>"]

SCRIPTS = {
    # a calculator call: the engine forces <|output_start|>84<|output_end|>
    "calc": ["Let", " me", " compute", " ", "<|python_start|>", "12", "*", "7", "<|python_end|>",
             "<|output_start|>", "84", "<|output_end|>", ".", " It", " is", " 84", "."],
    # characters split across tokens, an invalid byte, a genuine U+FFFD
    # (held back like a partial character), and an incomplete character at
    # the end (never sent)
    "utf8": [b"caf", b"\xc3", b"\xa9", b" ", b"\xf0\x9f", b"\x98", b"\x80", b" ok ", b"\xff", b"x",
             b" \xef\xbf\xbd", b"!", b" \xe4\xbd\xa0\xe5", b"\xa5\xbd", b" \xe2\x82"],
    # longer than the max_tokens the request asks for
    "long": ["one", " two", " three", " four", " five", " six"],
    # a calculator call that gives no output, then an answer
    "nocalc": ["<|python_start|>", "1", "/", "0", "<|python_end|>", "Oops", "."],
}


class Tokenizer:
    """Byte-level stand-in for nanochat's tokenizer: ids 0..8 are the special
    tokens, 9.. the scripts' tokens and single bytes."""

    def __init__(self):
        self.vocab = [s.encode() for s in SPECIALS]
        for toks in SCRIPTS.values():
            for t in toks:
                b = t if isinstance(t, bytes) else t.encode()
                if b not in self.vocab:
                    self.vocab.append(b)
        for i in range(256):
            if bytes([i]) not in self.vocab:
                self.vocab.append(bytes([i]))
        self.ids = {b: i for i, b in enumerate(self.vocab)}

    def encode_special(self, text):
        return SPECIALS.index(text)

    def get_bos_token_id(self):
        return 0

    def encode(self, text):
        # user and assistant text is plain text, one id per byte
        return [self.ids[bytes([c])] for c in text.encode()]

    def decode(self, ids):
        # tiktoken's decode: concatenated bytes, errors="replace"
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")


TOK = Tokenizer()
SEEN = []  # what the engine was asked, per request


class Engine:
    def __init__(self, model, tokenizer):
        self.tokenizer = tokenizer

    def generate(self, tokens, num_samples=1, max_tokens=None, temperature=1.0, top_k=None, seed=42):
        text = self.tokenizer.decode(tokens)
        last = text.rsplit("<|user_start|>", 1)[1].split("<|user_end|>", 1)[0]
        SEEN.append({"prompt": text, "max_tokens": max_tokens, "temperature": temperature, "top_k": top_k})
        script = [t if isinstance(t, bytes) else t.encode() for t in SCRIPTS[last.split()[-1]]]
        ids = [TOK.ids[t] for t in script] + [TOK.encode_special("<|assistant_end|>")]
        for n, i in enumerate(ids):
            if max_tokens is not None and n >= max_tokens:
                return
            yield [i], [1]


def install_stubs():
    torch = types.ModuleType("torch")

    class device:
        def __init__(self, name):
            self.name = name

        def __str__(self):
            return self.name

    torch.device = device
    torch.cuda = types.SimpleNamespace(device_count=lambda: 1)
    sys.modules["torch"] = torch
    pkg = types.ModuleType("nanochat")
    pkg.__path__ = []
    common = types.ModuleType("nanochat.common")
    common.autodetect_device_type = lambda: "cpu"
    common.compute_init = lambda device_type: (False, 0, 0, 1, torch.device(device_type))
    cm = types.ModuleType("nanochat.checkpoint_manager")
    cm.load_model = lambda source, device, phase, model_tag=None, step=None: (None, TOK, {})
    eng = types.ModuleType("nanochat.engine")
    eng.Engine = Engine
    for name, mod in [("nanochat", pkg), ("nanochat.common", common), ("nanochat.checkpoint_manager", cm),
                      ("nanochat.engine", eng)]:
        sys.modules[name] = mod


REQUESTS = [
    ("calculator", {"messages": [{"role": "user", "content": "please calc"}], "temperature": 0.0, "max_tokens": 100, "top_k": 50}),
    ("utf8", {"messages": [{"role": "user", "content": "say utf8"}], "temperature": 0.0, "max_tokens": 100, "top_k": 50}),
    ("max_tokens", {"messages": [{"role": "user", "content": "count long"}], "temperature": 0.7, "max_tokens": 3, "top_k": 20}),
    ("no output", {"messages": [{"role": "user", "content": "divide nocalc"}], "temperature": 0.0, "max_tokens": 100, "top_k": 50}),
    ("defaults", {"messages": [{"role": "user", "content": "please calc"}]}),
    ("conversation", {"messages": [
        {"role": "user", "content": "sys\n\nplease calc"},
        {"role": "assistant", "content": "Let me compute <|python_start|>12*7<|python_end|><|output_start|>84<|output_end|>. It is 84."},
        {"role": "user", "content": "now utf8"}], "temperature": 0.0, "max_tokens": 100, "top_k": 50}),
]


def main():
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # chat_web.py prints progress
    install_stubs()
    sys.argv = ["chat_web.py"]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import chat_web
    from fastapi.testclient import TestClient

    out = {"scripts": {k: [(t if isinstance(t, bytes) else t.encode()).hex() for t in v] for k, v in SCRIPTS.items()},
           "gets": [], "posts": []}
    with TestClient(chat_web.app) as c:
        for path in ["/health", "/stats", "/v1/models"]:
            r = c.get(path)
            out["gets"].append({"path": path, "status": r.status_code,
                                "content_type": r.headers.get("content-type"), "body": r.content.decode()})
        for name, req in REQUESTS:
            body = json.dumps(req, ensure_ascii=False)
            r = c.post("/chat/completions", content=body.encode(), headers={"content-type": "application/json"})
            out["posts"].append({"name": name, "request": req, "status": r.status_code,
                                 "content_type": r.headers.get("content-type"), "body": r.content.decode(),
                                 "engine": SEEN[-1]})
    json.dump(out, real_stdout, ensure_ascii=False, indent=1)
    print(file=real_stdout)


if __name__ == "__main__":
    main()
