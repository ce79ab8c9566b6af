#!/usr/bin/env bash
# lmeval-check: a real lm-evaluation-harness run against `nanochat serve` on the
# bundled demo model must score the toy MMLU and ARC sets exactly as
# `nanochat eval` does (same accuracy, same letter on every item).
#
#   1. a venv with lm-eval (API models, no PyTorch) and transformers, pinned in
#      testdata/lmeval/requirements.txt, in ~/.cache/nanochat/lmeval-venv
#      (override with NANOCHAT_LMEVAL_VENV; rebuilt when the pins change);
#   2. the demo tokenizer exported for transformers (nanochat export), checked
#      against transformers on a corpus (go test -run HuggingFace);
#   3. nanochat serve on a free port; lm_eval --model local-completions with the
#      task YAMLs of testdata/lmeval; nanochat eval --json on the same files;
#   4. testdata/lmeval/compare.py: equal or exit 1.
#
# Needs go and python3 (≥ 3.11); the first run downloads the pinned wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${NANOCHAT_LMEVAL_VENV:-$HOME/.cache/nanochat/lmeval-venv}
req=testdata/lmeval/requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
	echo "lmeval-check: installing the pinned lm-eval into $venv"
	rm -rf "$venv"
	"${PYTHON:-python3}" -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
	echo "$want" >"$venv/.requirements.sha256"
fi
py=$venv/bin/python

tmp=$(mktemp -d)
serve_pid=
cleanup() {
	if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

bin=$tmp/nanochat
go build -o "$bin" ./cmd/nanochat
demo=testdata/demo/home
"$bin" export --home "$demo" --tokenizer hf --out "$tmp/tokenizer" 2>/dev/null
NANOCHAT_HF_PYTHON=$py go test -count=1 -run 'HuggingFace' ./cmd/nanochat >/dev/null

# Offline: the tokenizer and the data are local files.
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME=$tmp/hf TOKENIZERS_PARALLELISM=false

"$bin" serve --home "$demo" --device cpu --port 0 -q >"$tmp/serve.log" 2>&1 &
serve_pid=$!
url=
for _ in $(seq 200); do
	url=$(sed -n 's/.*serving .* on \(http:[^ ]*\) .*/\1/p' "$tmp/serve.log")
	if [ -n "$url" ] && "$py" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/health', timeout=2)" "$url" 2>/dev/null; then
		break
	fi
	url=
	sleep 0.1
done
if [ -z "$url" ]; then
	cat "$tmp/serve.log" >&2
	echo "lmeval-check: nanochat serve did not become ready" >&2
	exit 1
fi
model=$("$py" -c "import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + '/v1/models'))['data'][0]['id'])" "$url")

"$venv/bin/lm_eval" --model local-completions \
	--model_args "model=$model,base_url=$url/v1/completions,tokenizer_backend=huggingface,tokenizer=$tmp/tokenizer,tokenized_requests=False,num_concurrent=2,max_retries=1,max_length=512" \
	--include_path testdata/lmeval --tasks nanochat_mmlu_toy,nanochat_arc_toy --batch_size 16 \
	--output_path "$tmp/lmeval" --log_samples >"$tmp/lmeval.log" 2>&1 || { tail -40 "$tmp/lmeval.log" >&2; exit 1; }

"$bin" eval --home "$demo" --device cpu --task mmlu,arc-easy \
	--data mmlu=testdata/demo/data/mmlu_toy.jsonl --data arc-easy=testdata/demo/data/arc_toy.jsonl \
	--db "$tmp/evals.db" --json -q --log-samples "$tmp/samples.jsonl" >"$tmp/eval.json"

"$py" testdata/lmeval/compare.py "$tmp/eval.json" "$tmp/samples.jsonl" "$tmp/lmeval"
