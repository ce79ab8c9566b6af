# nanochat — run `make help` for the targets.
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/nanochat
CUDA_BIN    ?= bin/nanochat-cuda
DEMO_HOME   := testdata/demo/home

.PHONY: help build demo test check lint fmt vet fuzz bench kernels cuda cuda-check gpu-verify lmeval-check browser-check clean

help: ## show this help
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/nanochat (pure Go, no cgo needed)
	$(GO) build -o $(BIN) ./cmd/nanochat

demo: build ## chat once with the bundled demo model
	$(BIN) chat --home $(DEMO_HOME) -p "There are 12 bags. Each of them has 7 marbles. How many marbles are there in total?"

test: ## run the tests
	$(GO) test ./...

check: ## everything CI runs: format, vet, tests, cgo-free build, staticcheck, CUDA fatbin + cuda build, lm-eval through serve, the chat page in chromium
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test ./...
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) test -tags purego ./kernels/ ./model/
	$(STATICCHECK) ./...
	kernels/cuda/check.sh
	scripts/lmeval-check.sh
	$(MAKE) browser-check

lint: ## staticcheck only
	$(STATICCHECK) ./...

fmt: ## gofmt the tree
	gofmt -w .

fuzz: ## fuzz the checkpoint, pickle, meta, tokenizer and calculator parsers for a minute each
	$(GO) test ./model/pickle -run '^$$' -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./model/checkpoint -run '^$$' -fuzz FuzzParse -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./model/tokenizer -run '^$$' -fuzz FuzzEncodeDecode -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./engine/calc -run '^$$' -fuzz FuzzEval -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./model -run '^$$' -fuzz FuzzMeta -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./model/tokenizer -run '^$$' -fuzz FuzzTokenizerPickle -fuzztime 60s -fuzzminimizetime 5s

bench: build ## kernel micro-benchmarks and the d20-shape inference benchmark
	$(GO) test ./kernels/ -run '^$$' -bench . -benchtime 20x
	$(BIN) bench --shape d20

kernels: ## rebuild kernels/cuda/kernels.fatbin (CUDA 12.9: nvcc, or NVRTC + nvFatbin from PyPI)
	kernels/cuda/build.sh

cuda: ## build bin/nanochat-cuda, the GPU build nanochat hands over to
	kernels/cuda/gobuild.sh $(CUDA_BIN)

cuda-check: ## the fatbin matches its sources and the cuda build compiles and links (no GPU needed)
	kernels/cuda/check.sh

gpu-verify: ## build bin/gpu-verify/: binaries, cuda tests and testdata; run its run.sh on a machine with an NVIDIA GPU
	kernels/cuda/gpu-verify/build.sh bin/gpu-verify

browser-check: ## the chat page at / in headless Debian chromium (scripts/chromium.sh installs it): stream, calculator chip, stop, model switch, nothing leaves the origin
	scripts/chromium.sh
	NANOCHAT_CHROMIUM=$${NANOCHAT_CHROMIUM:-$$(command -v chromium)} $(GO) test ./server/web -run Browser -count=1 -v

lmeval-check: ## lm-evaluation-harness through `serve` equals `nanochat eval` on the toy MMLU/ARC (pinned venv in ~/.cache/nanochat)
	scripts/lmeval-check.sh

clean: ## remove build outputs
	rm -rf bin
