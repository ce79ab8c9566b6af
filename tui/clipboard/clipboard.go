// Package clipboard copies text to the user's clipboard two ways at once:
// an OSC 52 escape sequence, which the terminal carries out (over SSH and
// inside tmux too), and the native tool (xclip, xsel, wl-copy, pbcopy) when
// one is installed.
package clipboard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	native "github.com/atotto/clipboard"
	"github.com/aymanbagabas/go-osc52/v2"
)

// Copy writes text to out as an OSC 52 sequence (wrapped for tmux or
// screen when running inside one) and to the native clipboard if
// available. It returns how the text was copied, e.g. "OSC 52 + native
// clipboard"; the error is non-nil only if neither way worked.
func Copy(out io.Writer, text string) (string, error) {
	var ways []string
	var errs []error
	if out != nil {
		seq := osc52.New(text)
		switch {
		case os.Getenv("TMUX") != "":
			seq = seq.Tmux()
		case strings.HasPrefix(os.Getenv("TERM"), "screen"):
			seq = seq.Screen()
		}
		if _, err := seq.WriteTo(out); err != nil {
			errs = append(errs, fmt.Errorf("osc52: %w", err))
		} else {
			ways = append(ways, "OSC 52")
		}
	}
	if !native.Unsupported {
		if err := native.WriteAll(text); err != nil {
			errs = append(errs, fmt.Errorf("native clipboard: %w", err))
		} else {
			ways = append(ways, "native clipboard")
		}
	}
	if len(ways) == 0 {
		if len(errs) == 0 {
			errs = append(errs, errors.New("no terminal output and no clipboard tool (install xclip, xsel or wl-copy)"))
		}
		return "", fmt.Errorf("copy: %w", errors.Join(errs...))
	}
	return strings.Join(ways, " + "), nil
}
