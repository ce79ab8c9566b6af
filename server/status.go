package server

import (
	"net/http"
)

// modelObject is one entry of GET /v1/models. Loaded (an extension) tells
// whether the model is in memory; Default marks the one used when a
// request names none.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Loaded  bool   `json:"loaded"`
	Default bool   `json:"default,omitempty"`
	// MaxModelLen is the context length (as vLLM names it), known once loaded.
	MaxModelLen int `json:"max_model_len,omitempty"`
}

func (s *Server) modelObjects() []modelObject {
	s.models.mu.Lock()
	defer s.models.mu.Unlock()
	out := make([]modelObject, 0, len(s.models.list))
	for _, ck := range s.models.list {
		o := modelObject{ID: ck.Name(), Object: "model", Created: ck.ModTime.Unix(), OwnedBy: "nanochat",
			Default: ck.Name() == s.models.def}
		if ck.ModTime.IsZero() {
			o.Created = s.started.Unix()
		}
		if e := s.models.entries[ck.Name()]; e != nil && e.model != nil {
			o.Loaded = true
			o.MaxModelLen = e.model.Info().ContextLen
		}
		out = append(out, o)
	}
	return out
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": s.modelObjects()})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ck, ok := s.models.lookup(name)
	if !ok || name == "" {
		writeError(w, modelNotFound(name))
		return
	}
	for _, o := range s.modelObjects() {
		if o.ID == ck.Name() {
			writeJSON(w, http.StatusOK, o)
			return
		}
	}
}

// health is upstream's /health body (key order as upstream's dict).
type health struct {
	Status           string `json:"status"`
	Ready            bool   `json:"ready"`
	NumGPUs          int    `json:"num_gpus"`
	AvailableWorkers int    `json:"available_workers"`
}

// handleHealth answers upstream's /health: 200 when the default model is
// loaded, 503 while it loads (or after its load failed).
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	state, e := s.models.status()
	h := health{Status: state, Ready: state == "ok", NumGPUs: 1}
	status := http.StatusServiceUnavailable
	if state == "ok" {
		status = http.StatusOK
	}
	if e != nil {
		_, _, used := e.sched.load()
		h.AvailableWorkers = max(e.sched.capacity-used, 0)
	}
	if s.draining.Load() {
		h.Status, h.Ready, status = "shutting_down", false, http.StatusServiceUnavailable
	}
	writeStarlette(w, status, h)
}

// writeStarlette writes v as upstream's FastAPI does (Starlette's
// JSONResponse: compact, no trailing newline).
func writeStarlette(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

type worker struct {
	GPUID  int    `json:"gpu_id"`
	Device string `json:"device"`
}

// stats is upstream's /stats body, with the queue length added.
type stats struct {
	TotalWorkers     int      `json:"total_workers"`
	AvailableWorkers int      `json:"available_workers"`
	BusyWorkers      int      `json:"busy_workers"`
	Workers          []worker `json:"workers"`
	Queued           int      `json:"queued"`
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	_, e := s.models.status()
	st := stats{Workers: []worker{}}
	if e != nil {
		_, queued, used := e.sched.load()
		st.TotalWorkers = e.sched.capacity
		st.BusyWorkers = min(used, e.sched.capacity)
		st.AvailableWorkers = st.TotalWorkers - st.BusyWorkers
		st.Queued = queued
		st.Workers = append(st.Workers, worker{GPUID: 0, Device: e.model.Info().Device})
	}
	writeStarlette(w, http.StatusOK, st)
}
