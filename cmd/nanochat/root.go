package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
)

// globals are the flags every command shares.
type globals struct {
	home       string
	demo       bool   // --demo: the demo model bundled in the binary
	checkpoint string // --checkpoint: a model_<step>.pt or Hugging Face directory
	source     string
	tag        string
	step       int
	override   string
	precision  string
	threads    int
	device     string
	dev        Device
	devWhy     string
	remote     string
	remoteAPI  string
	apiKey     string
	model      string
	cpuprof    string
	stopProf   func()
	isa        string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "nanochat",
		Short: "Chat with, evaluate and serve nanochat checkpoints",
		Long: `nanochat loads nanochat checkpoints (base, mid, sft, rl) straight from a
nanochat home ($NANOCHAT_BASE_DIR or ~/.cache/nanochat) and runs them in-process.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := g.useDemo(); err != nil {
				return err
			}
			if g.threads > 0 {
				kernels.SetThreads(g.threads)
			}
			if err := setISA(g.isa); err != nil {
				return err
			}
			if usesModel[cmd.Name()] && g.remote == "" {
				d, why, err := resolveDevice(g.device)
				if err != nil {
					return err
				}
				if d.HandOver != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), deviceLine(d, why))
					return handOver(d, os.Args)
				}
				g.dev, g.devWhy = d, why
			}
			if g.cpuprof != "" {
				f, err := os.Create(g.cpuprof)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				g.stopProf = func() { pprof.StopCPUProfile(); f.Close() }
			}
			return nil
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if g.stopProf != nil {
				g.stopProf()
			}
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.home, "home", "", "nanochat home (default $NANOCHAT_BASE_DIR or ~/.cache/nanochat)")
	pf.BoolVar(&g.demo, "demo", false, "use the demo model bundled in this binary (a 7 MB toy, unpacked to the user cache on first use) as the home")
	pf.StringVar(&g.checkpoint, "checkpoint", "", "load this checkpoint: a model_<step>.pt or a Hugging Face NanoChat directory (config.json, *.safetensors, tokenizer.json)")
	pf.StringVar(&g.source, "source", "sft", "checkpoint source: base, mid, sft or rl")
	pf.StringVar(&g.tag, "tag", "", "model tag, e.g. d20 (default: the largest d<N>)")
	pf.IntVar(&g.step, "step", -1, "training step (-1: the last)")
	pf.StringVar(&g.override, "override", "", "math the checkpoint cannot tell, e.g. softcap=20,window=SSSL,rope-base=100000,qk-scale=1.2,rope-bf16=true")
	pf.StringVar(&g.precision, "precision", "bf16", "weights and KV cache in memory: bf16 (fast, like nanochat on GPU), int8 (weights quantized at load, CPU only: fastest decode) or exact (checkpoint dtypes and fp32 cache, nanochat-on-CPU numerics)")
	pf.StringVar(&g.device, "device", "auto", "where to run: auto, cpu, cuda or cuda:N (auto hands over to nanochat-cuda when a usable NVIDIA GPU is present)")
	pf.StringVar(&g.remote, "remote", "", "use an OpenAI-compatible server (nanochat serve, vLLM, llama-server) or upstream nanochat's chat_web.py at this URL instead of a local checkpoint")
	pf.StringVar(&g.remoteAPI, "remote-api", "auto", "the --remote server's protocol: auto, openai, or upstream (nanochat's scripts/chat_web.py: chat only, no logprobs)")
	pf.StringVar(&g.apiKey, "api-key", "", "API key for --remote (default $NANOCHAT_API_KEY)")
	pf.StringVar(&g.model, "model", "", "model name on the --remote server (default: its first)")
	pf.StringVar(&g.cpuprof, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	pf.IntVar(&g.threads, "threads", 0, fmt.Sprintf("compute threads (default %d)", runtime.GOMAXPROCS(0)))
	pf.StringVar(&g.isa, "isa", os.Getenv("NANOCHAT_ISA"), fmt.Sprintf("CPU kernels to use, one of %s (default $NANOCHAT_ISA, else the first)", strings.Join(kernels.ISAs(), ", ")))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(newModelsCmd(g), newInspectCmd(g), newChatCmd(g))
	for _, c := range commands {
		root.AddCommand(c(g))
	}
	for _, setup := range rootSetup {
		setup(g, root)
	}
	markArgErrors(root)
	return root
}

// markArgErrors makes every command's argument-validation error a usage
// error (exit 2), as flag errors already are.
func markArgErrors(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markArgErrors(sub)
	}
}

// usesModel names the commands that load a model, so --device is resolved
// (and a hand-over to the CUDA build done) before they start.
var usesModel = map[string]bool{"nanochat": true, "chat": true, "eval": true, "bench": true, "serve": true, "tui": true}

// commands are the subcommands registered by other files of this package
// (each file adds its own in an init function).
var commands []func(*globals) *cobra.Command

// rootSetup are what other files of this package add to the root command
// (the TUI's run and flags for "nanochat" with no subcommand, --version).
var rootSetup []func(g *globals, root *cobra.Command)

func (g *globals) homeDir() string {
	if g.home != "" {
		return g.home
	}
	return home.Dir()
}

func (g *globals) loadOptions() (model.Options, error) {
	var opts model.Options
	p, err := model.ParsePrecision(g.precision)
	if err != nil {
		return opts, usageError{fmt.Errorf("--%w", err)}
	}
	opts.Precision = p
	ov, err := model.ParseOverrides(g.override)
	if err != nil {
		return opts, usageError{fmt.Errorf("--override: %w", err)}
	}
	opts.Overrides = ov
	return opts, nil
}

// resolve finds the checkpoint named by --checkpoint, else by
// --source/--tag/--step.
func (g *globals) resolve() (home.Checkpoint, error) {
	if g.checkpoint != "" {
		return home.Parse(g.homeDir(), g.checkpoint)
	}
	return resolveCheckpoint(g.homeDir(), g.source, g.tag, g.step)
}

// setISA forces the CPU kernels onto one instruction set (--isa,
// $NANOCHAT_ISA; "" keeps the best this CPU has). A name this CPU or build
// cannot run is a usage error naming the ones it can.
func setISA(name string) error {
	if name == "" {
		return nil
	}
	if err := kernels.SetISA(name); err != nil {
		return usageError{fmt.Errorf("--isa %q: this CPU and build run %s", name, strings.Join(kernels.ISAs(), ", "))}
	}
	return nil
}
