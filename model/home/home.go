// Package home finds nanochat checkpoints in a nanochat home directory
// ($NANOCHAT_BASE_DIR, default ~/.cache/nanochat) the way upstream's
// checkpoint_manager does: source → directory, largest d<N> tag, last step.
package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nanochat-go/nanochat/model/homefs"
)

// Sources in display order with their directories.
var Sources = []struct{ Name, Dir string }{
	{"base", "base_checkpoints"},
	{"mid", "mid_checkpoints"},
	{"sft", "chatsft_checkpoints"},
	{"rl", "chatrl_checkpoints"},
}

// SourceDir maps a source name (base, mid, sft, rl; also the directory
// prefixes chatsft/chatrl) to its checkpoint directory name.
func SourceDir(source string) (string, error) {
	s := strings.ToLower(source)
	for _, src := range Sources {
		if s == src.Name || s+"_checkpoints" == src.Dir {
			return src.Dir, nil
		}
	}
	return "", fmt.Errorf("unknown source %q (want base, mid, sft or rl)", source)
}

// Dir returns the nanochat home: $NANOCHAT_BASE_DIR, else ~/.cache/nanochat.
func Dir() string {
	if d := os.Getenv("NANOCHAT_BASE_DIR"); d != "" {
		return d
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "nanochat")
	}
	return filepath.Join(h, ".cache", "nanochat")
}

// Checkpoint is one model_<step>.pt found on disk.
type Checkpoint struct {
	Source    string // base, mid, sft, rl
	Tag       string // e.g. d20
	Step      int
	ModelPath string
	MetaPath  string
	Size      int64
	ModTime   time.Time
	// Tokenizer is the tokenizer.pkl this checkpoint uses (see
	// TokenizerFor); OwnTokenizer is set when it is the checkpoint's own
	// rather than the home's.
	Tokenizer    string `json:",omitempty"`
	OwnTokenizer bool   `json:",omitempty"`
}

// Name is "source/tag/step", the identifier used by the CLI, TUI and server.
func (c Checkpoint) Name() string { return fmt.Sprintf("%s/%s/%d", c.Source, c.Tag, c.Step) }

var (
	tagRe  = regexp.MustCompile(`^d(\d+)`)
	stepRe = regexp.MustCompile(`^model_(\d+)\.pt$`)
)

// Scan lists every checkpoint under dir, ordered by source, tag (deepest
// first) and step. A missing home or source directory is not an error.
func Scan(dir string) ([]Checkpoint, error) {
	var out []Checkpoint
	for _, src := range Sources {
		sdir := filepath.Join(dir, src.Dir)
		tags, err := listTags(sdir)
		if err != nil {
			return nil, err
		}
		for _, tag := range tags {
			steps, err := listSteps(filepath.Join(sdir, tag))
			if err != nil {
				return nil, err
			}
			for i := len(steps) - 1; i >= 0; i-- {
				out = append(out, steps[i].with(src.Name, tag, dir))
			}
		}
	}
	return out, nil
}

type stepFile struct {
	step int
	path string
	info os.FileInfo
	size int64 // of a Hugging Face directory's weights
}

func (s stepFile) with(source, tag, homeDir string) Checkpoint {
	if s.info.IsDir() { // a Hugging Face directory
		c := Checkpoint{Source: source, Tag: tag, Step: s.step, ModelPath: s.path, MetaPath: filepath.Join(s.path, HFConfig),
			Size: s.size, ModTime: s.info.ModTime()}
		c.Tokenizer, c.OwnTokenizer = TokenizerFor(s.path, homeDir)
		return c
	}
	dir := filepath.Dir(s.path)
	c := Checkpoint{Source: source, Tag: tag, Step: s.step, ModelPath: s.path,
		MetaPath: filepath.Join(dir, fmt.Sprintf("meta_%s.json", strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s.path), "model_"), ".pt"))),
		Size:     s.info.Size(), ModTime: s.info.ModTime()}
	c.Tokenizer, c.OwnTokenizer = TokenizerFor(s.path, homeDir)
	return c
}

// listTags returns the tag directories, best first: largest d<N> (ties by
// name), then the others newest first (upstream falls back to mtime).
// Symlinks are followed, as upstream's os.path.isdir does; entries that are
// not directories, dangling links and link loops are not tags.
func listTags(dir string) ([]string, error) {
	entries, err := homefs.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scan checkpoints: %w", err)
	}
	type tag struct {
		name  string
		depth int
		mod   time.Time
	}
	var tags []tag
	for _, e := range entries {
		info, err := homefs.Stat(dir, e)
		if err != nil || !info.IsDir() {
			continue
		}
		t := tag{name: e.Name(), depth: -1, mod: info.ModTime()}
		if m := tagRe.FindStringSubmatch(e.Name()); m != nil {
			t.depth, _ = strconv.Atoi(m[1])
		}
		tags = append(tags, t)
	}
	sort.SliceStable(tags, func(i, j int) bool {
		a, b := tags[i], tags[j]
		if a.depth != b.depth {
			return a.depth > b.depth
		}
		if a.depth < 0 && !a.mod.Equal(b.mod) {
			return a.mod.After(b.mod)
		}
		return a.name < b.name
	})
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = t.name
	}
	return names, nil
}

// listSteps returns model_<step>.pt files in increasing step order, with
// the size and time of what their symlinks point to. A name that is not a
// regular file (a named pipe, a device, a dangling link or a link loop) is
// still listed, with the link's own information, so that loading it
// reports what it is; directories are not steps.
func listSteps(dir string) ([]stepFile, error) {
	entries, err := homefs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scan checkpoints: %w", err)
	}
	var steps []stepFile
	if hf, ok := hfStep(dir); ok {
		steps = append(steps, hf)
	}
	for _, e := range entries {
		m := stepRe.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		info, err := homefs.Stat(dir, e)
		if err != nil {
			if info, err = e.Info(); err != nil {
				return nil, fmt.Errorf("scan checkpoints: %w", err)
			}
		}
		if info.IsDir() {
			continue
		}
		steps = append(steps, stepFile{step: n, path: filepath.Join(dir, e.Name()), info: info})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].step < steps[j].step })
	return steps, nil
}

// Resolve picks one checkpoint like upstream load_model: the source's
// largest d<N> tag unless tag is set, its last step unless step ≥ 0.
func Resolve(dir, source, tag string, step int) (Checkpoint, error) {
	sd, err := SourceDir(source)
	if err != nil {
		return Checkpoint{}, err
	}
	sdir := filepath.Join(dir, sd)
	if tag == "" {
		tags, err := listTags(sdir)
		if err != nil {
			return Checkpoint{}, err
		}
		if len(tags) == 0 {
			return Checkpoint{}, fmt.Errorf("no checkpoints for source %q: %s has no model directories (set --home or NANOCHAT_BASE_DIR, fetch one with nanochat pull REPO, or try the bundled demo with --demo)", source, sdir)
		}
		tag = tags[0]
	}
	steps, err := listSteps(filepath.Join(sdir, tag))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("source %q tag %q: %w", source, tag, err)
	}
	if len(steps) == 0 {
		return Checkpoint{}, fmt.Errorf("source %q tag %q: no model_<step>.pt in %s", source, tag, filepath.Join(sdir, tag))
	}
	name := Sources[0].Name
	for _, s := range Sources {
		if s.Dir == sd {
			name = s.Name
		}
	}
	if step < 0 {
		return steps[len(steps)-1].with(name, tag, dir), nil
	}
	for _, s := range steps {
		if s.step == step {
			return s.with(name, tag, dir), nil
		}
	}
	have := make([]string, len(steps))
	for i, s := range steps {
		have[i] = strconv.Itoa(s.step)
	}
	return Checkpoint{}, fmt.Errorf("source %q tag %q: no step %d (have %s)", source, tag, step, strings.Join(have, ", "))
}

// Parse resolves a checkpoint reference: a path to model_<step>.pt or to a
// Hugging Face directory, or "source[/tag[/step]]".
func Parse(dir, ref string) (Checkpoint, error) {
	if hf, ok := hfStep(ref); ok {
		parent := filepath.Base(filepath.Dir(ref))
		source := "hf"
		for _, s := range Sources {
			if s.Dir == parent {
				source = s.Name
			}
		}
		return hf.with(source, filepath.Base(ref), filepath.Dir(filepath.Dir(ref))), nil
	}
	if strings.HasSuffix(ref, ".pt") {
		info, err := os.Stat(ref)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint %q: %w", ref, err)
		}
		m := stepRe.FindStringSubmatch(filepath.Base(ref))
		if m == nil {
			return Checkpoint{}, fmt.Errorf("checkpoint %q: file name is not model_<step>.pt", ref)
		}
		n, _ := strconv.Atoi(m[1])
		// <home>/<source>_checkpoints/<tag>/model_<step>.pt
		c := stepFile{step: n, path: ref, info: info}.with("", filepath.Base(filepath.Dir(ref)), filepath.Dir(filepath.Dir(filepath.Dir(ref))))
		src := strings.TrimSuffix(filepath.Base(filepath.Dir(filepath.Dir(ref))), "_checkpoints")
		for _, s := range Sources {
			if s.Dir == src+"_checkpoints" {
				c.Source = s.Name
			}
		}
		return c, nil
	}
	parts := strings.Split(ref, "/")
	if len(parts) > 3 {
		return Checkpoint{}, fmt.Errorf("checkpoint %q: want source[/tag[/step]] or a path to model_<step>.pt", ref)
	}
	tag, step := "", -1
	if len(parts) > 1 {
		tag = parts[1]
	}
	if len(parts) > 2 {
		n, err := strconv.Atoi(parts[2])
		if err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint %q: step %q is not a number", ref, parts[2])
		}
		step = n
	}
	return Resolve(dir, parts[0], tag, step)
}

// TokenizerFile is the tokenizer's file name, in upstream's
// <home>/tokenizer/ directory and wherever a checkpoint carries its own.
const TokenizerFile = "tokenizer.pkl"

// HomeTokenizer is <home>/tokenizer/tokenizer.pkl, the tokenizer every
// checkpoint without its own uses.
func HomeTokenizer(homeDir string) string {
	return filepath.Join(homeDir, "tokenizer", TokenizerFile)
}

// OwnTokenizers are the places, relative to a checkpoint's directory,
// where it may carry its own tokenizer, in order of preference.
var OwnTokenizers = []string{filepath.Join("tokenizer", TokenizerFile), TokenizerFile}

// TokenizerFor returns the tokenizer.pkl the checkpoint at modelPath uses:
// its own (tokenizer/tokenizer.pkl or tokenizer.pkl beside model_<step>.pt,
// tokenizer.json in a Hugging Face directory) when it has one, so that models trained with different tokenizers share
// a home, else the home's. own reports which.
func TokenizerFor(modelPath, homeDir string) (path string, own bool) {
	if info, err := os.Stat(modelPath); err == nil && info.IsDir() {
		p := filepath.Join(modelPath, HFTokenizer)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	dir := filepath.Dir(modelPath)
	for _, rel := range OwnTokenizers {
		p := filepath.Join(dir, rel)
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, true
		}
	}
	return HomeTokenizer(homeDir), false
}

// The files of a Hugging Face NanoChat directory.
const (
	HFConfig    = "config.json"
	HFWeights   = "model.safetensors"
	HFTokenizer = "tokenizer.json"
)

// hfStep reports whether dir is a Hugging Face directory (config.json and
// model.safetensors) and describes it as a step: the step an export
// recorded in config.json ("nanochat": {"step": N}), else 0.
func hfStep(dir string) (stepFile, bool) {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return stepFile{}, false
	}
	w, err := os.Stat(filepath.Join(dir, HFWeights))
	if err != nil {
		return stepFile{}, false
	}
	data, err := os.ReadFile(filepath.Join(dir, HFConfig))
	if err != nil || len(data) > 1<<20 {
		return stepFile{}, false
	}
	var cfg struct {
		Nanochat struct {
			Step int `json:"step"`
		} `json:"nanochat"`
	}
	json.Unmarshal(data, &cfg) // a config without it is step 0
	return stepFile{step: cfg.Nanochat.Step, path: dir, info: info, size: w.Size()}, true
}
