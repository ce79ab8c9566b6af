#!/usr/bin/env bash
# run.sh: check nanochat's CUDA backend on this machine's NVIDIA GPU, in
# under four minutes, with what `make gpu-verify` put next to this script
# (no Go or CUDA toolkit needed; the NVIDIA driver, coreutils' timeout and
# curl are).
#
#   bin/gpu-verify/run.sh            logs in bin/gpu-verify/logs
#   OUT=/tmp/v run.sh                logs elsewhere
#   NANOCHAT_CUDA_DEVICE=1 run.sh    another GPU (default 0)
#   BENCH_SHAPE=d12 run.sh           a smaller bench model (default d20)
#
# Steps, each under its own timeout:
#   1. probe   nanochat-cuda reports the GPU and the fatbin image it runs;
#   2. tests   the cuda test binary: every kernel against the CPU reference,
#              golden parity, mixed row positions, cache lifecycle and
#              TestBackendConformance (engine/enginetest), on the GPU;
#   3. chat    a greedy demo chat on the GPU (CUDA graphs on and off,
#              --device cuda and --device auto) and on the CPU, compared;
#   4. serve   serve --batch 8 on the GPU: one request alone, then eight at
#              once; every answer 200 and non-empty, the repeated prompt
#              answered the same in the batch as alone;
#   5. bench   bench --device cuda --json on a synthetic model.
# The last line on stdout is one JSON object: "ok", then per step "pass"
# and what it measured (bench numbers included). Exit status 0 when ok.
set -uo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
T0=$(date +%s)
DEADLINE=$((T0 + ${VERIFY_BUDGET_S:-225}))
LOG=${OUT:-$ROOT/logs}
rm -rf "$LOG"
mkdir -p "$LOG/home"
export HOME=$LOG/home # chat history and caches of the runs, not the user's
export NANOCHAT_CUDA_DEVICE=${NANOCHAT_CUDA_DEVICE:-0}
DEMO=testdata/demo/home
GPU=(--device "cuda:$NANOCHAT_CUDA_DEVICE")

left() { echo $((DEADLINE - $(date +%s))); }
# tmo CAP RESERVE: a step's timeout: at most CAP s, keeping RESERVE s for
# the steps after it, at least 5.
tmo() {
	local l=$(($(left) - $2))
	[ "$l" -gt "$1" ] && l=$1
	[ "$l" -lt 5 ] && l=5
	echo "$l"
}
say() { echo "gpu-verify: $*" >&2; }
# jesc TEXT: TEXT as the inside of a JSON string (control characters
# dropped, at most 300 characters).
jesc() { printf '%s' "$1" | tr -d '\000-\037' | cut -c1-300 | sed 's/\\/\\\\/g; s/"/\\"/g'; }
jstr() { printf '"%s"' "$(jesc "$1")"; }
jbool() { if "$@"; then echo true; else echo false; fi; }
declare -A R # step → JSON value

# --- 0. the machine -----------------------------------------------------------
gpu=$(nvidia-smi -i "$NANOCHAT_CUDA_DEVICE" --query-gpu=name,compute_cap,driver_version,memory.total \
	--format=csv,noheader 2>/dev/null | head -1)
R[gpu]=$(jstr "${gpu:-nvidia-smi found no GPU}")
R[build]=$(jstr "$(tr '\n' ' ' <BUILD 2>/dev/null)")
missing=""
for tool in timeout curl; do command -v "$tool" >/dev/null || missing+="$tool "; done
if [ -n "$missing" ]; then
	echo "{\"ok\":false,\"error\":$(jstr "missing tools: $missing")}"
	exit 1
fi
say "GPU: ${gpu:-none}"

# --- 1. probe -------------------------------------------------------------------
probe=$(NANOCHAT_CUDA_PROBE=1 timeout 30 ./nanochat-cuda 2>&1 | head -3)
rc=$?
probe_ok() { [ "$rc" = 0 ] && [ -n "$probe" ] && ! grep -q unusable <<<"$probe"; }
pass=$(jbool probe_ok)
R[probe]="{\"pass\":$pass,\"report\":$(jstr "$probe")}"
say "probe: $probe"

# --- 2. the cuda test binary ------------------------------------------------------
t=$(tmo 120 110)
(cd kernels/cuda && timeout "$t" ./cuda.test -test.v -test.count=1 -test.timeout "$((t - 3))s") \
	>"$LOG/tests.log" 2>&1
rc=$?
npass=$(grep -c -- '--- PASS' "$LOG/tests.log")
nfail=$(grep -c -- '--- FAIL' "$LOG/tests.log")
nskip=$(grep -c -- '--- SKIP' "$LOG/tests.log")
topskip=$(grep -c -- '^--- SKIP' "$LOG/tests.log") # a whole test skipped: no usable GPU
failed=$(grep -- '--- FAIL' "$LOG/tests.log" | sed 's/.*--- FAIL: \([^ ]*\).*/\1/' | head -8 | tr '\n' ' ')
first=$(grep -m3 -E '_test\.go:[0-9]+:|panic:|CUDA_ERROR|skip' "$LOG/tests.log" | tr '\n' ' ')
[ -z "$first" ] && [ "$rc" != 0 ] && first=$(tail -3 "$LOG/tests.log" | tr '\n' ' ')
tests_ok() { [ "$rc" = 0 ] && [ "$nfail" = 0 ] && [ "$topskip" = 0 ] && [ "$npass" -gt 0 ]; }
pass=$(jbool tests_ok)
R[tests]="{\"pass\":$pass,\"rc\":$rc,\"passed\":$npass,\"failed\":$nfail,\"skipped\":$nskip,\"failing\":$(jstr "$failed"),\"first\":$(jstr "$first")}"
say "tests: rc=$rc pass=$npass fail=$nfail skip=$nskip ${failed:+($failed)}"

# --- 3. greedy chat: GPU (graphs on/off, cuda and auto) vs CPU ----------------------
PROMPT="There are 12 bags. Each of them has 7 marbles. How many marbles are there in total?"
chat() { # name graphs device-flags...
	local name=$1 graphs=$2
	shift 2
	NANOCHAT_CUDA_GRAPHS=$graphs timeout "$(tmo 30 75)" ./nanochat "$@" chat --home "$DEMO" --no-history -q \
		--temperature 0 --max-tokens 48 -p "$PROMPT" >"$LOG/chat-$name.out" 2>"$LOG/chat-$name.err"
	echo $?
}
rc_gpu=$(chat gpu 1 "${GPU[@]}")
rc_nog=$(chat nographs 0 "${GPU[@]}")
rc_auto=$(chat auto 1 --device auto)
rc_cpu=$(chat cpu 1 --device cpu)
out() { cat "$LOG/chat-$1.out" 2>/dev/null; }
same() { [ -n "$(out "$1")" ] && [ "$(out "$1")" = "$(out "$2")" ]; }
ran_gpu=$(jbool grep -q 'handing over\|device cuda' "$LOG/chat-gpu.err")
auto_gpu=$(jbool grep -q 'handing over\|device cuda' "$LOG/chat-auto.err")
fell_back=$(jbool grep -q 'falling back' "$LOG/chat-auto.err")
g_eq_ng=$(jbool same gpu nographs)
g_eq_auto=$(jbool same gpu auto)
g_eq_cpu=$(jbool same gpu cpu)
chat_ok() {
	[ "$rc_gpu$rc_nog$rc_auto$rc_cpu" = 0000 ] && [ -n "$(out cpu)" ] && $g_eq_ng && $g_eq_auto && $ran_gpu &&
		$auto_gpu && ! $fell_back
}
pass=$(jbool chat_ok)
R[chat]="{\"pass\":$pass,\"rc\":{\"gpu\":$rc_gpu,\"nographs\":$rc_nog,\"auto\":$rc_auto,\"cpu\":$rc_cpu},\"auto_on_gpu\":$auto_gpu,\"auto_fell_back\":$fell_back,\"graphs_eq_nographs\":$g_eq_ng,\"auto_eq_cuda\":$g_eq_auto,\"gpu_eq_cpu\":$g_eq_cpu,\"gpu_stderr\":$(jstr "$(grep -v '^nanochat: device' "$LOG/chat-gpu.err" | tail -2)"),\"gpu\":$(jstr "$(out gpu)"),\"cpu\":$(jstr "$(out cpu)")}"
say "chat: rc gpu=$rc_gpu nographs=$rc_nog auto=$rc_auto cpu=$rc_cpu; gpu = cpu: $g_eq_cpu"

# --- 4. serve --batch 8 with concurrent requests ---------------------------------------
port=$((20000 + RANDOM % 20000))
./nanochat "${GPU[@]}" serve --home "$DEMO" --port "$port" --batch 8 -q >"$LOG/serve.log" 2>&1 &
spid=$!
up=false
for _ in $(seq 1 "$(($(tmo 40 60) * 5))"); do
	if curl -sf -o /dev/null "http://127.0.0.1:$port/health"; then
		up=true
		break
	fi
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.2
done
ask() { # name prompt → HTTP status; body in serve-NAME.json
	curl -s -m "$(tmo 60 40)" -o "$LOG/serve-$1.json" -w '%{http_code}' "http://127.0.0.1:$port/v1/chat/completions" \
		-H 'Content-Type: application/json' \
		-d "{\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}],\"max_tokens\":32,\"temperature\":0}"
}
content() { grep -o '"content":"[^"]*"' "$LOG/serve-$1.json" 2>/dev/null | head -1; }
codes="" batch_eq=false all_ok=false
if $up; then
	alone=$(ask alone "What is 2+2?")
	pids=()
	for i in 0 1 2 3 4 5 6 7; do
		case $i in
		0) p="What is 2+2?" ;;
		*) p="Count from 1 to $((i + 2)), then name a colour number $i." ;;
		esac
		ask "b$i" "$p" >"$LOG/serve-b$i.code" &
		pids+=($!)
	done
	wait "${pids[@]}"
	all_ok=true
	for i in 0 1 2 3 4 5 6 7; do
		c=$(cat "$LOG/serve-b$i.code" 2>/dev/null)
		codes+="${c:-000} "
		{ [ "$c" = 200 ] && [ -n "$(content "b$i")" ] && [ "$(content "b$i")" != '"content":""' ]; } || all_ok=false
	done
	[ "$alone" = 200 ] && [ -n "$(content alone)" ] && [ "$(content alone)" = "$(content b0)" ] && batch_eq=true
fi
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
pass=$(jbool eval '$up && $all_ok && $batch_eq')
R[serve]="{\"pass\":$pass,\"up\":$up,\"alone\":\"${alone:-000}\",\"batch_codes\":\"${codes% }\",\"batch_eq_alone\":$batch_eq,\"answer\":$(jstr "$(content alone | sed 's/^"content":"//; s/"$//')"),\"log\":$(jstr "$(grep -i -m2 'error\|panic\|fall\|--device' "$LOG/serve.log")")}"
say "serve --batch 8: up=$up alone=${alone:-000} batch=[${codes% }] batch = alone: $batch_eq"

# --- 5. bench ---------------------------------------------------------------------------
shape=${BENCH_SHAPE:-d20}
timeout "$(tmo 90 3)" ./nanochat "${GPU[@]}" bench --shape "$shape" --json --batch-sizes 1,8 \
	>"$LOG/bench.out" 2>"$LOG/bench.err"
rc=$?
line=$(tail -1 "$LOG/bench.out" 2>/dev/null)
case $line in {*}) ;; *) line=null ;; esac
num() { printf '%s' "$line" | sed -n "s/.*$1\([0-9.eE+-]*\).*/\1/p" | head -1; }
dev=$(printf '%s' "$line" | sed -n 's/.*"device":"\([^"]*\)".*/\1/p')
on_gpu=$(jbool grep -qi 'cuda\|nvidia' <<<"$dev")
prefill=$(num '"prefill":{"tok_per_sec":')
bs1=$(num '"sweep":\[{"batch_size":1,[^}]*"tok_per_sec":')
bs8=$(num '{"batch_size":8,[^}]*"tok_per_sec":')
bench_ok() { [ "$rc" = 0 ] && [ "$line" != null ] && $on_gpu; }
pass=$(jbool bench_ok)
R[bench]="{\"pass\":$pass,\"rc\":$rc,\"shape\":\"$shape\",\"device\":$(jstr "$dev"),\"prefill_tok_s\":${prefill:-null},\"decode_bs1_tok_s\":${bs1:-null},\"decode_bs8_tok_s\":${bs8:-null},\"stderr\":$(jstr "$(tail -2 "$LOG/bench.err")"),\"result\":$line}"
say "bench: rc=$rc device=$dev prefill=${prefill:-?} tok/s decode bs1=${bs1:-?} bs8=${bs8:-?} tok/s"

# --- summary --------------------------------------------------------------------------------
ok=true
for s in probe tests chat serve bench; do
	case ${R[$s]} in '{"pass":true'*) ;; *) ok=false ;; esac
done
out="{\"ok\":$ok"
for k in gpu build probe tests chat serve bench; do out+=",\"$k\":${R[$k]}"; done
out+=",\"elapsed_s\":$(($(date +%s) - T0)),\"logs\":$(jstr "$LOG")}"
echo "$out"
$ok
