package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/kernels/cuda"
)

// version overrides the module version the Go toolchain stamps, for
// release builds: go build -ldflags "-X main.version=v1.2.3".
var version string

func init() {
	rootSetup = append(rootSetup, func(_ *globals, root *cobra.Command) {
		root.Version = versionText()
		root.SetVersionTemplate("{{.Version}}\n")
	})
}

// versionText is what nanochat --version prints: the version, the commit
// it was built from, the Go toolchain and target, the build tags, the CPU
// kernels this machine runs, and the GPU images of the CUDA kernels (in this binary or not).
func versionText() string {
	v, commit, when, dirty, tags, cgo := version, "unknown (not stamped: built outside git or with -buildvcs=false)", "", false, "", "off"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value[:min(len(s.Value), 12)]
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			case "-tags":
				tags = s.Value
			case "CGO_ENABLED":
				if s.Value == "1" {
					cgo = "on"
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if when != "" {
		commit += " (" + when + ")"
	}
	if dirty {
		commit += ", with uncommitted changes"
	}
	if tags == "" {
		tags = "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "nanochat %s\n", v)
	fmt.Fprintf(&b, "commit      %s\n", commit)
	fmt.Fprintf(&b, "go          %s %s/%s, cgo %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, cgo)
	fmt.Fprintf(&b, "build tags  %s\n", tags)
	fmt.Fprintf(&b, "CPU kernels %s (this CPU runs %s; --isa or $NANOCHAT_ISA picks)\n", kernels.ISA(), strings.Join(kernels.ISAs(), ", "))
	fmt.Fprintf(&b, "GPU images  %s", gpuImages())
	return b.String()
}

// gpuImages lists what the CUDA kernels' fatbin holds: a cubin per real
// architecture and PTX for newer GPUs, and whether this binary has them.
func gpuImages() string {
	var imgs []string
	for _, a := range cuda.CubinArchs {
		imgs = append(imgs, fmt.Sprintf("sm_%d", a))
	}
	s := fmt.Sprintf("%s cubins + compute_%d PTX (CUDA %d.%d)", strings.Join(imgs, " "), cuda.PTXArch,
		cuda.ToolkitVersion/1000, cuda.ToolkitVersion%1000/10)
	if !cuda.Built() {
		s += ", not in this binary: the CPU build (make cuda builds bin/nanochat-cuda with them)"
	}
	return s
}
