package main

import "github.com/spf13/pflag"

// latest is what a bare --continue stands for, and may be written out:
// --continue=latest. Session IDs are hex, so it is never an ID prefix.
const latest = "latest"

// sessionFlag is --continue: absent, bare (the latest session) or a
// session ID prefix. Its help reads "--continue id[=latest]".
type sessionFlag struct {
	set    bool
	prefix string // "" for the latest
}

func (s *sessionFlag) String() string { return s.prefix }

func (s *sessionFlag) Set(v string) error {
	s.set = true
	if v == latest {
		v = ""
	}
	s.prefix = v
	return nil
}

func (s *sessionFlag) Type() string { return "id" }

// addContinueFlag defines --continue (-c when short is set) on fs.
func addContinueFlag(fs *pflag.FlagSet, s *sessionFlag, short string, usage string) {
	fs.VarP(s, "continue", short, usage)
	fs.Lookup("continue").NoOptDefVal = latest
}
