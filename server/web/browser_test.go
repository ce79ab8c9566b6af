package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/server"
)

// The browser test drives the chat page in a real headless chromium against
// the real server on the demo model. It needs a chromium binary:
//
//	NANOCHAT_CHROMIUM=/usr/bin/chromium go test ./server/web -run Browser -v
//
// (make browser-check installs Debian's chromium with scripts/chromium.sh
// and runs it). Screenshots go to $NANOCHAT_SCREENSHOTS, else a fresh temp
// directory that is kept and named in the log, and also to $OUT/screenshots
// when OUT is set.

const (
	demoQuestion = "There are 12 bags. Each of them has 7 marbles. How many marbles are there in total?"
	jarsQuestion = "There are 7 jars. Each of them has 11 buttons. How many buttons are there in total?"
	apiKey       = "sekret"
)

// paced slows a model's visible output to one piece per delay, so that a
// person (or the test) can watch it stream and stop it.
type paced struct {
	llm.Model
	delay time.Duration
}

func (p paced) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	return p.Model.Chat(ctx, msgs, s, func(e llm.Event) {
		if e.Text != "" || e.Tool != nil {
			time.Sleep(p.delay)
		}
		on(e)
	})
}

// serverLog collects the server's log lines.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *serverLog) find(substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(s string) bool { return strings.Contains(s, substr) })
}

func (l *serverLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// next waits up to d for line n and returns it ("" if it never came).
func (l *serverLog) next(n int, d time.Duration) string {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l.mu.Lock()
		if len(l.lines) > n {
			defer l.mu.Unlock()
			return l.lines[n]
		}
		l.mu.Unlock()
	}
	return ""
}

// demoServer serves the demo model under two names (the second is the same
// weights one step earlier, to switch to) with an API key.
func demoServer(t *testing.T) (*httptest.Server, *serverLog, [2]string) {
	demo := filepath.Join("..", "..", "testdata", "demo", "home")
	ck, err := home.Resolve(demo, "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	alt := ck
	alt.Step--
	logs := &serverLog{}
	s, err := server.New(server.Options{
		Checkpoints: []home.Checkpoint{ck, alt},
		APIKey:      apiKey,
		Logf:        logs.logf,
		Open: func(ctx context.Context, c home.Checkpoint) (llm.Model, error) {
			m, err := local.Open(c, local.OpenOptions{Home: demo})
			if err != nil {
				return nil, err
			}
			return paced{Model: m, delay: 30 * time.Millisecond}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return ts, logs, [2]string{ck.Name(), alt.Name()}
}

// page is a browser tab on the chat page, with what it has asked for.
type page struct {
	t      *testing.T
	ctx    context.Context
	origin string
	shots  []string // directories screenshots are written to

	mu       sync.Mutex
	requests []string // method and URL of every request the page made
	sse      []string // content types of the chat completion responses
	problems []string // uncaught exceptions and CSP violations
}

func newPage(t *testing.T, exe, origin string) *page {
	p := &page{t: t, origin: origin}
	dir := os.Getenv("NANOCHAT_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "nanochat-browser-"); err != nil {
			t.Fatal(err)
		}
	}
	p.shots = []string{dir}
	if out := os.Getenv("OUT"); out != "" {
		p.shots = append(p.shots, filepath.Join(out, "screenshots"))
	}
	for _, d := range p.shots {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots: %s", strings.Join(p.shots, ", "))

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.WindowSize(1280, 860),
		// As root, and in containers without user namespaces, chromium's
		// sandbox cannot start; the page is our own.
		chromedp.NoSandbox,
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(p.listen))
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)
	p.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatalf("chromium version: %v", err)
	}
	t.Logf("browser: %s (%s, protocol %s)", v.Product, exe, v.ProtocolVersion)
	return p
}

// listen records every request, the chat completions' content types and
// anything the page did wrong. It runs in the tab's event loop.
func (p *page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, ev.Request.Method+" "+ev.Request.URL)
	case *network.EventResponseReceived:
		if strings.HasSuffix(ev.Response.URL, "/v1/chat/completions") && ev.Response.Status == 200 {
			p.sse = append(p.sse, ev.Response.MimeType)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		p.problems = append(p.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *cdplog.EventEntryAdded:
		if strings.Contains(ev.Entry.Text, "Content Security Policy") {
			p.problems = append(p.problems, "CSP: "+ev.Entry.Text)
		}
	}
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.fail("%v", err)
	}
}

// wait polls the JavaScript condition cond until it is true.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingMutation())); err != nil {
		p.fail("waiting for %s (%s): %v", what, cond, err)
	}
}

func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// fail stops the test with the transcript's text and a screenshot.
func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	p.shot("failure")
	p.t.Fatalf(format+"\npage text:\n%s", append(args, text)...)
}

func (p *page) shot(name string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	for _, d := range p.shots {
		if err := os.WriteFile(filepath.Join(d, name+".png"), buf, 0o644); err != nil {
			p.t.Error(err)
		}
	}
}

// send types text into the composer and presses Enter, as a person does.
func (p *page) send(text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.ID("input"), text), enter)
}

// enter presses Enter in the focused element as a keyboard does: SendKeys
// would add a char event, which inserts a line break even when the page
// cancels the keydown (chromedp docs/API.md, example 20).
var enter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		}); err != nil {
			return err
		}
	}
	return nil
})

// replies is the number of finished replies shown.
const replies = `document.querySelectorAll('.msg.assistant:not(.streaming) .foot').length`

func TestBrowser(t *testing.T) {
	exe := os.Getenv("NANOCHAT_CHROMIUM")
	if exe == "" {
		t.Skip("browser test skipped: set NANOCHAT_CHROMIUM to a chromium binary to run it (make browser-check installs Debian's chromium and runs it)")
	}
	start := time.Now()
	ts, logs, names := demoServer(t)
	p := newPage(t, exe, ts.URL)

	// The page loads without the key; its first API call is refused, it
	// asks for the key once and keeps it.
	p.do(chromedp.Navigate(ts.URL + "/"))
	p.wait("the API key dialog", `document.getElementById('key-dialog').open`)
	if why := eval[string](p, `document.getElementById('key-why').textContent`); !strings.Contains(why, "missing or incorrect API key") {
		t.Errorf("key dialog says %q, want the server's message", why)
	}
	p.shot("key-dialog")
	p.do(chromedp.SendKeys(chromedp.ID("key-input"), apiKey), chromedp.Click(chromedp.ID("key-save")))
	p.wait("the model list", `document.querySelectorAll('#model option').length === 2`)
	if got := eval[[]string](p, `[...document.querySelectorAll('#model option')].map(o => o.value)`); !slices.Equal(got, names[:]) {
		t.Errorf("model picker offers %q, want %q", got, names)
	}
	p.shot("empty")

	// Greedy sampling, set in the settings dialog, makes the replies fixed.
	p.do(chromedp.Click(chromedp.ID("settings-button")),
		chromedp.SendKeys(chromedp.CSS(`#settings input[name=temperature]`), "0"),
		chromedp.Click(chromedp.CSS(`#settings button[value=ok]`)))

	// The demo question: streamed, with the calculator chip.
	p.send(demoQuestion)
	p.wait("the demo answer", replies+` === 1`)
	if chip := eval[string](p, `document.querySelector('.msg.assistant .tool')?.textContent`); chip != "12*7 → 84" {
		t.Errorf("calculator chip %q, want %q", chip, "12*7 → 84")
	}
	if body := eval[string](p, `document.querySelector('.msg.assistant .body').innerText`); !strings.Contains(body, "84 marbles") {
		t.Errorf("reply %q, want the demo answer (84 marbles)", body)
	}
	p.mu.Lock()
	sse := slices.Clone(p.sse)
	p.mu.Unlock()
	if len(sse) != 1 || sse[0] != "text/event-stream" {
		t.Errorf("chat completion responses: %q, want one text/event-stream", sse)
	}
	p.shot("desktop-light")

	// Regenerate gives the same greedy answer again; editing the last
	// message asks the new question in its place.
	p.do(chromedp.Click(chromedp.CSS(`[data-action=regenerate]`)))
	p.wait("the regenerated answer", replies+` === 1 && document.querySelector('.msg.assistant .tool')?.textContent === '12*7 → 84'`)
	p.do(chromedp.Click(chromedp.CSS(`[data-action=edit]`)),
		chromedp.SetValue(chromedp.CSS(`.edit-area`), jarsQuestion),
		chromedp.Click(chromedp.CSS(`[data-action=edit-save]`)))
	p.wait("the answer to the edited question", replies+` === 1 && document.querySelector('.msg.assistant .tool')?.textContent === '7*11 → 77'`)
	if n := eval[int](p, `document.querySelectorAll('.msg.user').length`); n != 1 {
		t.Errorf("%d user messages after the edit, want 1", n)
	}

	// A conversation too long for the model's context: the server's own
	// message is shown, not its status.
	p.do(chromedp.SetValue(chromedp.ID("input"), strings.Repeat("hello there ", 600)),
		chromedp.Focus(chromedp.ID("input")), enter)
	p.wait("the error", `document.querySelector('.msg.failed .error')`)
	if msg := eval[string](p, `document.querySelector('.msg.failed .error').textContent`); !strings.Contains(msg, "exceed the context of 512") || strings.Contains(msg, "HTTP 400") {
		t.Errorf("error shown: %q, want the server's context_length_exceeded message", msg)
	}
	p.shot("error")

	// Stop a generation while it streams: the partial reply stays, marked
	// stopped, and the server cancels the request.
	p.do(chromedp.Click(chromedp.ID("new-chat")))
	logged := logs.len()
	p.send("Write a short poem about the sea.")
	p.wait("streaming text", `(() => { const b = document.querySelector('.msg.assistant.streaming .body'); return b && !b.querySelector('.typing') && b.innerText.trim().length > 0 })()`)
	p.shot("streaming")
	p.do(chromedp.Click(chromedp.ID("send")))
	p.wait("the stopped reply", `document.querySelector('.msg.assistant .meta')?.textContent.includes('stopped')`)
	p.wait("the send button back", `!document.getElementById('send').classList.contains('stop')`)
	// The server logs the request as ended by its client (cancelled, or a
	// write to the closed stream failing), not finished.
	if l := logs.next(logged, 10*time.Second); !strings.Contains(l, "error:") {
		t.Errorf("server log for the stopped request: %q, want it ended by the client", l)
	}

	// Max tokens from the settings reaches the server: the reply is cut.
	p.do(chromedp.Click(chromedp.ID("settings-button")),
		chromedp.SendKeys(chromedp.CSS(`#settings input[name=max_tokens]`), "3"),
		chromedp.Click(chromedp.CSS(`#settings button[value=ok]`)))
	p.send("Hello")
	p.wait("the cut reply", replies+` === 2`)
	if m := eval[string](p, `[...document.querySelectorAll('.msg.assistant .meta')].at(-1).textContent`); !strings.Contains(m, "3 tokens") || !strings.Contains(m, "cut at max tokens") {
		t.Errorf("reply meta %q, want 3 tokens, cut at max tokens", m)
	}
	p.do(chromedp.Click(chromedp.ID("settings-button")),
		chromedp.Click(chromedp.ID("settings-reset")),
		chromedp.Click(chromedp.CSS(`#settings button[value=ok]`)))
	if v := eval[string](p, `(s => s.temperature + s.max_tokens)(JSON.parse(localStorage.getItem('nanochat.settings')))`); v != "" {
		t.Errorf("temperature and max_tokens %q after Reset, want the server's defaults", v)
	}

	// Switch the model: the next reply comes from the other checkpoint.
	p.do(chromedp.SetValue(chromedp.ID("model"), names[1]),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('model').dispatchEvent(new Event('change'))`))
	p.send(demoQuestion)
	p.wait("the other model's answer", replies+` === 3`)
	if m := eval[string](p, `[...document.querySelectorAll('.msg.assistant .meta')].at(-1).textContent`); !strings.HasPrefix(m, names[1]) {
		t.Errorf("last reply's meta %q, want it from %s", m, names[1])
	}
	if !logs.find("/v1/chat/completions " + names[1]) {
		t.Errorf("the server never ran a chat on %s: %q", names[1], logs.lines)
	}

	// Reload: the key, the conversations and the chosen model are kept.
	p.do(chromedp.Reload())
	p.wait("the model list after reload", `document.getElementById('model').value === '`+names[1]+`'`)
	if open := eval[bool](p, `document.getElementById('key-dialog').open`); open {
		t.Error("the page asked for the API key again after a reload")
	}
	if n := eval[int](p, `document.querySelectorAll('#conversations .conv').length`); n != 2 {
		t.Errorf("%d conversations listed after reload, want 2", n)
	}
	p.do(chromedp.Click(chromedp.CSS(`#conversations .conv:last-child .conv-open`)))
	p.wait("the first conversation", `document.querySelector('.msg.assistant .tool')?.textContent === '7*11 → 77'`)

	// Markdown as the page renders it, and the dark theme and a phone.
	testMarkdown(t, p)
	p.do(chromedp.Click(chromedp.ID("theme-button")), chromedp.Click(chromedp.ID("theme-button")))
	if th := eval[string](p, `document.documentElement.dataset.theme`); th != "dark" {
		t.Errorf("theme %q after two clicks, want dark", th)
	}
	p.shot("desktop-dark")
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	p.do(chromedp.Reload())
	p.wait("the markdown conversation, still open after the reload", `document.querySelector('.md table')`)
	p.shot("phone-dark")
	p.do(chromedp.Click(chromedp.ID("settings-button")))
	p.shot("phone-settings")
	p.do(chromedp.Click(chromedp.CSS(`#settings button[value=ok]`)))
	if w := eval[int](p, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the phone layout is %dpx wide, wider than the 390px screen", w)
	}
	p.do(chromedp.Click(chromedp.ID("menu")))
	p.wait("the drawer", `document.body.classList.contains('side-open')`)
	p.do(chromedp.Sleep(300 * time.Millisecond))
	p.shot("phone-drawer")
	p.do(chromedp.Click(chromedp.ID("theme-button")), // dark → auto (light here)
		chromedp.MouseClickXY(375, 420), // the scrim, right of the drawer
		chromedp.Sleep(300*time.Millisecond))
	if open := eval[bool](p, `document.body.classList.contains('side-open')`); open {
		t.Error("the drawer is still open after a tap beside it")
	}
	p.shot("phone-light")

	// Nothing left the server's origin, and the page raised nothing.
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.requests {
		if _, url, _ := strings.Cut(r, " "); !strings.HasPrefix(url, ts.URL+"/") {
			t.Errorf("request outside the server's origin %s: %s", ts.URL, r)
		}
	}
	for _, pr := range p.problems {
		t.Errorf("page problem: %s", pr)
	}
	t.Logf("%d requests, all to %s; took %v", len(p.requests), ts.URL, time.Since(start).Round(time.Millisecond))
}
