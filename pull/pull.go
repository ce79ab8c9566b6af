// Package pull fetches a published nanochat model from the Hugging Face hub
// into a nanochat home, laid out as upstream's checkpoint_manager expects:
// model_<step>.pt and meta_<step>.json in <home>/<source>_checkpoints/<tag>/,
// the tokenizer in <home>/tokenizer/ — or, when the home already holds a
// different tokenizer that other checkpoints need, in the checkpoint's own
// tokenizer/ folder (see home.TokenizerFor). Downloads go through package
// hub: resumable, checked against the hub's sizes and checksums.
package pull

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nanochat-go/nanochat/hub"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
)

// Options say what to pull and where.
type Options struct {
	Hub      *hub.Client // default hub.FromEnv()
	Home     string      // the nanochat home to place the files in
	Repo     string      // owner/name
	Revision string      // branch, tag or commit (default main)
	Source   string      // base, mid, sft or rl (default: from the repo's layout, else sft)
	Tag      string      // model tag (default: the meta's model_tag, else d<n_layer>)
	Step     int         // training step to pull (< 0: the last)
	Force    bool        // download again, and replace a different checkpoint at the destination
	// Progress, if set, is called as bytes arrive.
	Progress func(Progress)
}

// Progress reports a download.
type Progress struct {
	File         string // the file's path in the repository
	Index, Count int    // 1-based file being fetched, and how many
	Done, Total  int64  // bytes of this file (Total -1 if unknown)
	Resumed      int64  // bytes already on disk when it started
}

// Result is what Pull placed.
type Result struct {
	Checkpoint home.Checkpoint
	Files      []string // the repository files downloaded
	Bytes      int64
	Guessed    []string // what was guessed rather than read, e.g. `source "sft" (the repository does not say)`
}

var (
	modelRe = regexp.MustCompile(`(^|/)model_(\d+)\.pt$`)
	stageRe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
	tagRe   = regexp.MustCompile(`^d\d+`)
)

// plan is the repository files Pull fetches.
type plan struct {
	step                       int
	model, meta, tok, tokBytes *hub.RepoFile // tok and tokBytes may be nil
}

// choose finds the checkpoint, meta and tokenizer files of a nanochat
// repository whatever its layout: the model_<step>.pt of the step asked
// for (the last by default), meta_<step>.json beside it (else anywhere),
// and tokenizer.pkl / token_bytes.pt nearest to it.
func choose(files []hub.RepoFile, step int) (plan, error) {
	var p plan
	var steps []int
	byStep := map[int]*hub.RepoFile{}
	for i := range files {
		if m := modelRe.FindStringSubmatch(files[i].Path); m != nil {
			n, err := strconv.Atoi(m[2])
			if err != nil {
				continue
			}
			if _, dup := byStep[n]; !dup {
				steps = append(steps, n)
				byStep[n] = &files[i]
			}
		}
	}
	if len(steps) == 0 {
		for _, f := range files {
			if path.Base(f.Path) == "config.json" {
				return p, fmt.Errorf("no model_<step>.pt: this looks like a Hugging Face format repository (config.json); download it and use --checkpoint DIR")
			}
		}
		return p, fmt.Errorf("no model_<step>.pt in the repository: is it a nanochat checkpoint?")
	}
	sort.Ints(steps)
	if step < 0 {
		step = steps[len(steps)-1]
	}
	if p.model = byStep[step]; p.model == nil {
		have := make([]string, len(steps))
		for i, s := range steps {
			have[i] = strconv.Itoa(s)
		}
		return p, fmt.Errorf("no model_<step>.pt for step %d (have %s)", step, strings.Join(have, ", "))
	}
	p.step = step
	dir := path.Dir(p.model.Path)
	nearest := func(name string) *hub.RepoFile {
		var best *hub.RepoFile
		bestScore := -1
		for i := range files {
			f := &files[i]
			if path.Base(f.Path) != name {
				continue
			}
			score := 0 // anywhere
			switch d := path.Dir(f.Path); {
			case d == dir:
				score = 3
			case d == path.Join(dir, "tokenizer"):
				score = 2
			case d == "tokenizer" || d == ".":
				score = 1
			}
			if score > bestScore {
				best, bestScore = f, score
			}
		}
		return best
	}
	metaName := strings.Replace(path.Base(p.model.Path), "model_", "meta_", 1)
	metaName = strings.TrimSuffix(metaName, ".pt") + ".json"
	if p.meta = nearest(metaName); p.meta == nil {
		return p, fmt.Errorf("%s has no %s", p.model.Path, metaName)
	}
	p.tok, p.tokBytes = nearest(home.TokenizerFile), nearest("token_bytes.pt")
	return p, nil
}

// Pull downloads a checkpoint from the hub and places it in the home. Files
// are downloaded into <home>/.pull/<repo>/ first (an interrupted pull
// resumes from there) and moved into place only once all have arrived and
// match the hub's checksums.
func Pull(ctx context.Context, o Options) (Result, error) {
	var res Result
	c := o.Hub
	if c == nil {
		c = hub.FromEnv()
	}
	ref := o.Repo
	if o.Revision != "" {
		ref += "@" + o.Revision
	}
	fail := func(err error) (Result, error) { return res, fmt.Errorf("pull %s: %w", ref, err) }
	files, err := c.ModelFiles(ctx, o.Repo, o.Revision)
	if err != nil {
		return res, err
	}
	p, err := choose(files, o.Step)
	if err != nil {
		return fail(err)
	}
	homeTok := home.HomeTokenizer(o.Home)
	_, homeTokErr := os.Stat(homeTok)
	if p.tok == nil && homeTokErr != nil {
		return fail(fmt.Errorf("the repository has no %s and %s has none either", home.TokenizerFile, o.Home))
	}

	// 1. Download everything into the staging directory.
	stage := filepath.Join(o.Home, ".pull", stageRe.ReplaceAllString(o.Repo, "_"))
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return fail(err)
	}
	want := []*hub.RepoFile{p.meta, p.model}
	for _, f := range []*hub.RepoFile{p.tok, p.tokBytes} {
		if f != nil {
			want = append(want, f)
		}
	}
	staged := map[*hub.RepoFile]string{}
	for i, f := range want {
		dst := filepath.Join(stage, stageRe.ReplaceAllString(f.Path, "_"))
		staged[f] = dst
		w := hub.Want{Size: f.Size, SHA256: f.SHA256}
		if f.SHA256 == "" {
			w.OID = f.OID
		}
		if !o.Force && matches(dst, w) {
			continue
		}
		d, err := c.Download(ctx, c.ResolveURL(o.Repo, o.Revision, f.Path), dst, w, o.Force, func(done, total, resumed int64) {
			if o.Progress != nil {
				o.Progress(Progress{File: f.Path, Index: i + 1, Count: len(want), Done: done, Total: total, Resumed: resumed})
			}
		})
		if err != nil {
			return fail(fmt.Errorf("%s: %w", f.Path, err))
		}
		res.Files = append(res.Files, f.Path)
		res.Bytes += d.Size
	}

	// 2. Where it goes: source and tag from the flags, the layout, the meta.
	meta, err := model.ReadMeta(staged[p.meta])
	if err != nil {
		return fail(err)
	}
	source, tag := o.Source, o.Tag
	if source == "" {
		source = sourceFromPath(p.model.Path)
	}
	if source == "" {
		source = "sft"
		res.Guessed = append(res.Guessed, `source "sft" (the repository does not say; set --source)`)
	}
	srcDir, err := home.SourceDir(source)
	if err != nil {
		return fail(err)
	}
	if tag == "" {
		tag = tagFromMeta(meta)
	}
	if tag == "" {
		if t := path.Base(path.Dir(p.model.Path)); tagRe.MatchString(t) {
			tag = t
		}
	}
	if tag == "" {
		return fail(fmt.Errorf("meta %s names no model_tag or model_config.n_layer: set --tag", p.meta.Path))
	}
	dest := filepath.Join(o.Home, srcDir, tag)
	stepName := fmt.Sprintf("%06d", p.step)
	modelDst := filepath.Join(dest, "model_"+stepName+".pt")
	metaDst := filepath.Join(dest, "meta_"+stepName+".json")
	if !o.Force {
		for d, f := range map[string]*hub.RepoFile{modelDst: p.model, metaDst: p.meta} {
			if _, err := os.Stat(d); err == nil && !sameFile(d, staged[f]) {
				return fail(fmt.Errorf("%s exists and differs: use --force to replace it, or --tag to place this one elsewhere", d))
			}
		}
	}

	// 3. The tokenizer: the home's if it has none or the same one; else the
	// checkpoint's own, so the checkpoints that use the home's keep it.
	var moves [][2]string
	if p.tok != nil {
		tokDir := filepath.Dir(homeTok)
		switch {
		case homeTokErr != nil:
		case sameFile(homeTok, staged[p.tok]):
			tokDir = ""
		default:
			tokDir = filepath.Join(dest, "tokenizer")
		}
		if tokDir != "" {
			moves = append(moves, [2]string{staged[p.tok], filepath.Join(tokDir, home.TokenizerFile)})
			if p.tokBytes != nil {
				moves = append(moves, [2]string{staged[p.tokBytes], filepath.Join(tokDir, "token_bytes.pt")})
			}
		}
	}
	moves = append(moves, [2]string{staged[p.meta], metaDst}, [2]string{staged[p.model], modelDst})

	// 4. Move into place, the model last: a checkpoint that Scan finds is
	// complete.
	for _, m := range moves {
		if err := os.MkdirAll(filepath.Dir(m[1]), 0o755); err != nil {
			return fail(err)
		}
		if err := os.Rename(m[0], m[1]); err != nil {
			return fail(err)
		}
	}
	os.RemoveAll(stage)
	os.Remove(filepath.Join(o.Home, ".pull")) // only if empty
	if res.Checkpoint, err = home.Parse(o.Home, modelDst); err != nil {
		return fail(err)
	}
	return res, nil
}

// sourceFromPath reads the source from an upstream-like layout in the
// repository (chatsft_checkpoints/d20/model_000650.pt → sft).
func sourceFromPath(p string) string {
	for _, part := range strings.Split(path.Dir(p), "/") {
		for _, s := range home.Sources {
			if part == s.Dir {
				return s.Name
			}
		}
	}
	return ""
}

// tagFromMeta is upstream's model tag: user_config.model_tag when set, else
// d<n_layer>.
func tagFromMeta(m *model.Meta) string {
	if raw, ok := m.UserConfig["model_tag"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" && !strings.ContainsAny(s, `/\`) && s != "." && s != ".." {
			return s
		}
	}
	if m.ModelConfig != nil && m.ModelConfig.NLayer > 0 {
		return fmt.Sprintf("d%d", m.ModelConfig.NLayer)
	}
	return ""
}

// matches reports whether the file at p exists and is what w describes.
func matches(p string, w hub.Want) bool {
	info, err := os.Stat(p)
	if err != nil || (w.Size > 0 && info.Size() != w.Size) {
		return false
	}
	switch {
	case w.SHA256 != "":
		sum, err := hub.FileSHA256(p)
		return err == nil && strings.EqualFold(sum, w.SHA256)
	case w.OID != "":
		oid, err := hub.GitOID(p)
		return err == nil && strings.EqualFold(oid, w.OID)
	}
	return false
}

// sameFile reports whether two files have the same contents.
func sameFile(a, b string) bool {
	sa, err := hub.FileSHA256(a)
	if err != nil {
		return false
	}
	sb, err := hub.FileSHA256(b)
	return err == nil && sa == sb
}
