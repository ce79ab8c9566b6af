//go:build !linux

package sandbox

import (
	"errors"
	"io"
)

// jail is the Linux jail; other systems have none.
type jail struct{}

func newJail(o Options, info pythonInfo) (*jail, error) {
	return nil, errors.New("the jail needs Linux namespaces; this system has none")
}

func namespaceHint() string { return "" }

func (j *jail) describe(o Options) string { return "" }

func (j *jail) start(o Options, argv []string, stdout, stderr io.Writer) (*started, error) {
	return nil, errors.New("no jail on this system")
}
