package engine

// rowState is one row's tool state machine (upstream's RowState): it sees
// every token the row emits and queues the forced tokens of a tool answer.
type rowState struct {
	done     bool
	inPython bool
	expr     []int
	forced   []int
}

// step advances the state machine over id and returns the outcome of a
// tool call that id (<|python_end|>) closed, else nil.
func (s *rowState) step(id int, o Options) *ToolOutcome {
	sp := o.Specials
	switch {
	case id == sp.AssistantEnd || id == sp.BOS:
		s.done = true
	case id == sp.PythonStart && sp.PythonStart >= 0:
		s.inPython, s.expr = true, s.expr[:0]
	case id == sp.PythonEnd && s.inPython:
		s.inPython = false
		out := &ToolOutcome{Expr: append([]int(nil), s.expr...)}
		if len(s.expr) > 0 && o.Tool != nil {
			out.Result, out.OK = o.Tool(s.expr)
			if out.OK {
				s.forced = append(s.forced, sp.OutputStart)
				s.forced = append(s.forced, out.Result...)
				s.forced = append(s.forced, sp.OutputEnd)
			} else {
				out.Result = nil
			}
		}
		s.expr = s.expr[:0]
		return out
	case s.inPython:
		s.expr = append(s.expr, id)
	}
	return nil
}

func allDone(s []rowState) bool {
	for i := range s {
		if !s[i].done {
			return false
		}
	}
	return true
}

// sampleStep is one step of upstream Engine.generate for a set of rows:
// sample each row from its logits ([rows][vocab]), let a pending forced
// tool token take the sample's place, run the tool state machine, and
// write the ids to feed back into column. It appends the tokens of rows
// that had not ended to out.
func sampleStep(sp *sampler, state []rowState, logits []float32, vocab int, column []int, out []Token, o Options) []Token {
	for r := range state {
		id := sp.next(logits[r*vocab : (r+1)*vocab])
		forced := false
		if len(state[r].forced) > 0 {
			id, forced = state[r].forced[0], true
			state[r].forced = state[r].forced[1:]
		}
		column[r] = id
		if state[r].done {
			continue
		}
		tool := state[r].step(id, o)
		out = append(out, Token{Row: r, ID: id, Forced: forced, Last: state[r].done, Tool: tool})
	}
	return out
}
