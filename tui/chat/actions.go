package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/markdown"
)

// completion reports whether the loaded checkpoint has no chat template:
// prompts are then continued as plain text.
func (m *Model) completion() bool { return m.model != nil && !m.info.Chat }

// ready says why a generation cannot start now ("" if it can).
func (m *Model) ready() string {
	switch {
	case m.stream != nil:
		return "a reply is streaming: esc stops it"
	case m.model == nil:
		return "no checkpoint loaded: ctrl+l picks one"
	}
	return ""
}

// send turns the input into a user turn and starts the reply.
func (m *Model) send() tea.Cmd {
	text := strings.TrimSpace(m.input.Value())
	if text == "" {
		return nil
	}
	if why := m.ready(); why != "" {
		return m.Notify(why)
	}
	m.input.Reset()
	m.lastDraft = ""
	m.layout()
	role, replyRole := "user", "assistant"
	if m.completion() {
		role, replyRole = "prompt", "completion"
	}
	if m.session.Title == "" {
		m.session.Title = history.Title(text)
	}
	user := &Message{Message: history.Message{Role: role, Content: text, Created: time.Now()}}
	m.msgs = append(m.msgs, user)
	m.focus = -1
	return m.generate(len(m.msgs)-1, replyRole, m.settings.Seed, false, nil)
}

// generate appends a reply to msgs[upto] (a user turn) and starts it.
func (m *Model) generate(upto int, role string, seed uint64, compare bool, supersede []int64) tea.Cmd {
	if m.session.ID == "" {
		m.session.ID = history.NewID()
	}
	settings := m.settings
	settings.Seed = seed
	user := m.msgs[upto]
	reply := &Message{Message: history.Message{Role: role, SessionID: m.session.ID, Checkpoint: m.info.Name,
		Generation: m.info.Generation, Settings: &settings, Partial: true, ReplyTo: user.ID, Created: time.Now()},
		Compare: compare, live: markdown.NewStream(m.md)}
	m.msgs = append(m.msgs, reply)
	m.streamIdx = len(m.msgs) - 1
	m.seq++
	sess := m.Session()
	sess.Checkpoint, sess.Settings, sess.System = m.info.Name, m.settings, m.system
	j := job{seq: m.seq, model: m.model, settings: settings, db: m.db, session: sess, reply: reply.Message, supersede: supersede}
	if user.ID == 0 {
		u := user.Message
		u.SessionID = m.session.ID
		j.user = &u
	}
	if role == "completion" {
		j.complete, j.prompt = true, user.Content
	} else {
		j.msgs = conversation(m.system, m.msgs, upto)
	}
	st, cmd := start(j)
	m.stream = st
	m.refresh()
	m.vp.GotoBottom()
	return tea.Batch(cmd, m.spin.Tick)
}

// lastTurn finds the last user turn and the replies after it.
func (m *Model) lastTurn() (user int, replies []int) {
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if !m.msgs[i].isReply() {
			return i, replies
		}
		replies = append([]int{i}, replies...)
	}
	return -1, nil
}

// regenerate replaces the last reply(s) with a new one, seed + 1.
func (m *Model) regenerate() tea.Cmd {
	if why := m.ready(); why != "" {
		return m.Notify(why)
	}
	u, replies := m.lastTurn()
	if u < 0 {
		return m.Notify("nothing to regenerate")
	}
	seed := m.settings.Seed
	var ids []int64
	for _, r := range replies {
		if s := m.msgs[r].Settings; s != nil {
			seed = s.Seed + 1
		}
		if id := m.msgs[r].ID; id != 0 {
			ids = append(ids, id)
		}
	}
	m.msgs = m.msgs[:u+1]
	role := "assistant"
	if m.msgs[u].Role == "prompt" {
		role = "completion"
	}
	return m.generate(u, role, seed, false, ids)
}

// compare re-runs the last prompt on the loaded checkpoint with the same
// seed and shows the new answer beside the old one.
func (m *Model) compare() tea.Cmd {
	if why := m.ready(); why != "" {
		return m.Notify(why)
	}
	u, replies := m.lastTurn()
	if u < 0 || len(replies) == 0 {
		return m.Notify("no reply to compare with: send a prompt first")
	}
	seed := m.settings.Seed
	if s := m.msgs[replies[0]].Settings; s != nil {
		seed = s.Seed
	}
	role := "assistant"
	if m.msgs[u].Role == "prompt" {
		role = "completion"
	}
	return m.generate(u, role, seed, true, nil)
}

// editLast moves the last user turn back into the input and drops it and
// what followed from the conversation (kept in the database, superseded).
func (m *Model) editLast() tea.Cmd {
	if m.stream != nil {
		return nil
	}
	u, _ := m.lastTurn()
	if u < 0 {
		return nil
	}
	var ids []int64
	for _, msg := range m.msgs[u:] {
		if msg.ID != 0 {
			ids = append(ids, msg.ID)
		}
	}
	m.SetDraft(m.msgs[u].Content)
	m.input.CursorEnd()
	m.msgs = m.msgs[:u]
	m.focus = -1
	m.refresh()
	if m.db == nil || len(ids) == 0 {
		return nil
	}
	db := m.db
	return func() tea.Msg { return dbDoneMsg{err: db.Supersede(ids...)} }
}

// handleStream applies a generation's messages to the streaming reply.
func (m *Model) handleStream(msg tea.Msg) (*Model, tea.Cmd) {
	var seq int
	switch msg := msg.(type) {
	case savedMsg:
		seq = msg.seq
	case frameMsg:
		seq = msg.seq
	case doneMsg:
		seq = msg.seq
	}
	if m.stream == nil || seq != m.stream.seq {
		return m, nil // a generation abandoned by new chat or a session switch
	}
	reply := m.msgs[m.streamIdx]
	next := waitFor(m.stream.out)
	switch msg := msg.(type) {
	case savedMsg:
		reply.ID = msg.replyID
		if msg.userID != 0 && m.streamIdx > 0 {
			m.msgs[m.streamIdx-1].ID = msg.userID
			reply.ReplyTo = msg.userID
		}
		if msg.err != nil {
			return m, tea.Batch(next, m.Notify("history: "+msg.err.Error()))
		}
		return m, next
	case frameMsg:
		m.stream.first = true
		reply.live.Write(msg.display)
		m.refresh()
		return m, next
	case doneMsg:
		id, replyTo := reply.ID, reply.ReplyTo
		reply.Message = msg.reply
		reply.ID, reply.ReplyTo = id, replyTo
		reply.live = nil
		if msg.err != nil {
			// The reason is shown under the reply, where it has room.
			reply.err = m.failReason(msg.err, reply.Role == "completion")
		}
		reply.cacheKey.version++
		m.stream = nil
		if st := msg.reply.Stats; st != nil && (st.PromptTokens > 0 || st.Generated > 0) {
			m.lastStats = st // a generation that never ran has no context use to show
		}
		m.refresh()
		switch {
		case msg.err != nil:
			return m, m.Notify("generation failed")
		case msg.dbErr != nil:
			return m, m.Notify("history: " + msg.dbErr.Error())
		}
	}
	return m, nil
}

// draftTickMsg fires a moment after the input last changed.
type draftTickMsg struct{ ver int }

// inputChanged regrows the input and schedules a draft save.
func (m *Model) inputChanged() tea.Cmd {
	m.layout()
	if m.input.Value() == m.lastDraft {
		return nil
	}
	m.draftVer++
	ver := m.draftVer
	return tea.Tick(800*time.Millisecond, func(time.Time) tea.Msg { return draftTickMsg{ver} })
}

func (m *Model) saveDraft(t draftTickMsg) tea.Cmd {
	draft := m.input.Value()
	if t.ver != m.draftVer || m.db == nil || m.session.ID == "" || len(m.msgs) == 0 || draft == m.lastDraft {
		return nil
	}
	m.lastDraft = draft
	db, id := m.db, m.session.ID
	return func() tea.Msg { return dbDoneMsg{err: db.SaveDraft(id, draft)} }
}

// focusable is a message, or one code block in it.
type focusable struct{ msg, code int }

func (m *Model) focusables() []focusable {
	var out []focusable
	for i, msg := range m.msgs {
		if msg.live != nil {
			continue
		}
		out = append(out, focusable{i, -1})
		if msg.isReply() {
			for c := range codeBlocks(msg.display()) {
				out = append(out, focusable{i, c})
			}
		}
	}
	return out
}

func (m *Model) focusedMessage() int {
	if f := m.focusables(); m.focus >= 0 && m.focus < len(f) {
		return f[m.focus].msg
	}
	return -1
}

func (m *Model) setFocus(i int) {
	m.focus = i
	m.refresh()
	if mi := m.focusedMessage(); mi >= 0 && mi < len(m.offsets) {
		m.vp.SetYOffset(m.offsets[mi])
	}
}

// moveFocus steps through messages and their code blocks; from no focus,
// up starts at the last one.
func (m *Model) moveFocus(d int) {
	f := m.focusables()
	if len(f) == 0 {
		return
	}
	i := m.focus + d
	if m.focus < 0 {
		i = len(f) - 1
	}
	m.setFocus(min(max(i, 0), len(f)-1))
	if it := f[m.focus]; it.code >= 0 {
		m.notice = fmt.Sprintf("code block %d of %d focused: ctrl+y copies it", it.code+1, len(codeBlocks(m.msgs[it.msg].display())))
	} else {
		m.notice = ""
	}
}

// copiedMsg reports a clipboard copy.
type copiedMsg struct {
	what, how string
	err       error
}

// copyFocused copies the focused message or code block (default: the last
// reply) as markdown source.
func (m *Model) copyFocused() tea.Cmd {
	f := m.focusables()
	var text, what string
	if m.focus >= 0 && m.focus < len(f) {
		it := f[m.focus]
		text, what = m.msgs[it.msg].display(), "message"
		if it.code >= 0 {
			text, what = codeBlocks(text)[it.code], "code block"
		}
	} else {
		for i := len(m.msgs) - 1; i >= 0 && text == ""; i-- {
			if m.msgs[i].isReply() && m.msgs[i].live == nil {
				text, what = m.msgs[i].display(), "last reply"
			}
		}
	}
	if text == "" {
		return m.Notify("nothing to copy")
	}
	copyFn := m.copyFn
	what = fmt.Sprintf("%s, %d chars", what, len([]rune(text)))
	return func() tea.Msg {
		how, err := copyFn(text)
		return copiedMsg{what: what, how: how, err: err}
	}
}

// failReason is why a generation failed, with what to do when the
// conversation did not fit the model's context.
func (m *Model) failReason(err error, completion bool) string {
	s := err.Error()
	if !errors.Is(err, llm.ErrTooLong) {
		return s
	}
	if completion {
		return s + " (lower max tokens in the settings, or shorten the prompt)"
	}
	return fmt.Sprintf("%s (%s edits the message, %s starts a new chat)", s, m.keys.EditLast.Help().Key, m.keys.NewChat.Help().Key)
}
