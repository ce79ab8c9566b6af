package main

import (
	"fmt"

	"github.com/nanochat-go/nanochat/model/demo"
)

// useDemo makes the demo model bundled in the binary the home when --demo
// is given, unpacking it into the user cache on first use.
func (g *globals) useDemo() error {
	if !g.demo {
		return nil
	}
	if g.home != "" {
		return usageError{fmt.Errorf("--demo and --home both name a home: give one")}
	}
	h, err := demo.Home()
	if err != nil {
		return err
	}
	g.home = h
	return nil
}

// bundledDemoHome is the demo bundled in the binary, unpacked ("" if that
// fails): the TUI's fallback when the home has no checkpoints.
func bundledDemoHome() string {
	h, err := demo.Home()
	if err != nil {
		return ""
	}
	return h
}
