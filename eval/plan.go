package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nanochat-go/nanochat/eval/data"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
)

// Plan says what to evaluate; Jobs loads it.
type Plan struct {
	Tasks []*task.Task
	Data  map[string]string // task ID → data file or directory (overrides the cache)
	Home  string            // nanochat home holding task_data/
	Limit int               // first N items of upstream's order (0: all), like -x
	// PullCommand spells the command that downloads a task's data, for the
	// missing-data error (default "nanochat data pull <id>").
	PullCommand func(taskID string) string
}

// ParseData parses --data values "task=path" into a map keyed by task ID.
func ParseData(specs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range specs {
		name, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--data %q: want task=path, e.g. gsm8k=test.jsonl", s)
		}
		t, err := task.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("--data %q: %w", s, err)
		}
		out[t.ID] = path
	}
	return out, nil
}

// Jobs reads each task's data (explicit path, else the cache), orders the
// items like upstream and applies the limit.
func (p Plan) Jobs() ([]Job, error) {
	var jobs []Job
	for _, t := range p.Tasks {
		path, explicit := p.Data[t.ID]
		var err error
		var rows []json.RawMessage
		if explicit {
			rows, err = data.Read(path)
		} else {
			pull := "nanochat data pull " + t.ID
			if p.PullCommand != nil {
				pull = p.PullCommand(t.ID)
			}
			path = t.Source.Dir(p.Home)
			rows, err = data.Load(p.Home, t.Source, pull)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		items, err := t.Items(rows)
		if re := (*task.RowError)(nil); errors.As(err, &re) {
			// name the row as the file has it, not by its place in the list
			return nil, fmt.Errorf("%s: %s: %w", t.Name, data.Where(path, re.Row), re.Err)
		}
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("%s: %s has no rows", t.Name, path)
		}
		n := len(items)
		if p.Limit > 0 && p.Limit < n {
			items = items[:p.Limit]
		}
		jobs = append(jobs, Job{Task: t, Items: items, Data: path, Rows: n})
	}
	return jobs, nil
}

// CheckpointOf identifies a checkpoint on disk; variant names the load
// options that change its numerics (precision, overrides). The engine's
// numerics version (model.NumericsVersion) is added to it, so results
// computed by an engine whose arithmetic differed are not reused.
func CheckpointOf(ck home.Checkpoint, variant string) (Checkpoint, error) {
	d, err := Digest(ck.ModelPath, ck.MetaPath)
	if err != nil {
		return Checkpoint{}, err
	}
	variant = strings.TrimSpace(fmt.Sprintf("%s numerics=%d", variant, model.NumericsVersion))
	return Checkpoint{Name: ck.Name(), Digest: d, Variant: variant}, nil
}
