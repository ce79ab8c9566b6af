package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// markdownCases pin static/markdown.js: what it renders, and that nothing
// a model writes becomes markup of its own (run in the browser by
// TestBrowser).
var markdownCases = []struct{ in, want string }{
	{"hello", "<p>hello</p>"},
	{"a\nb", "<p>a<br>b</p>"},
	{"**b** *i* ~~s~~ `c`", "<p><strong>b</strong> <em>i</em> <del>s</del> <code>c</code></p>"},
	{"12*7 and 3*4", "<p>12*7 and 3*4</p>"},
	{"snake_case_name", "<p>snake_case_name</p>"},
	{"#### 84", "<h4>84</h4>"},
	{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
	{`<img src=x onerror="alert(1)">`, "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>"},
	{"`<b>` & co", "<p><code>&lt;b&gt;</code> &amp; co</p>"},
	{"[x](javascript:alert(1))", "<p>x</p>"},
	{"[x](https://e.com/a?b=1&c=2)", `<p><a href="https://e.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">x</a></p>`},
	{`[x](https://e.com/"onmouseover=alert(1))`, "<p>x</p>"},
	{"![cat](https://e.com/cat.png)", `<p><a href="https://e.com/cat.png" target="_blank" rel="noopener noreferrer">cat</a></p>`},
	{"see https://e.com/x.", `<p>see <a href="https://e.com/x" target="_blank" rel="noopener noreferrer">https://e.com/x</a>.</p>`},
	{"\\*not em\\*", "<p>*not em*</p>"},
	{"```go\nfmt.Println(\"<hi>\")\n```", `<div class="code"><div class="code-head"><span>go</span><button type="button" class="copy-code">Copy</button></div>` +
		`<pre><code class="lang-go">fmt.Println(&quot;&lt;hi&gt;&quot;)</code></pre></div>`},
	{"```\nunclosed", `<div class="code"><div class="code-head"><span>text</span><button type="button" class="copy-code">Copy</button></div>` +
		`<pre><code>unclosed</code></pre></div>`},
	{"```x\" onload=\"y\n```", `<div class="code"><div class="code-head"><span>x&quot;</span><button type="button" class="copy-code">Copy</button></div>` +
		`<pre><code class="lang-x&quot;"></code></pre></div>`},
	{"- a\n- b\n  - c\n- d", "<ul><li>a</li><li>b<ul><li>c</li></ul></li><li>d</li></ul>"},
	{"1. one\n2. two", "<ol><li>one</li><li>two</li></ol>"},
	{"3. three\n4. four", `<ol start="3"><li>three</li><li>four</li></ol>`},
	{"| a | b |\n|:--|--:|\n| 1 | **2** |", `<div class="table"><table><thead><tr><th class="left">a</th><th class="right">b</th></tr></thead>` +
		`<tbody><tr><td class="left">1</td><td class="right"><strong>2</strong></td></tr></tbody></table></div>`},
	{"> quoted\n\n---", "<blockquote><p>quoted</p></blockquote><hr>"},
	{"text\n# Head", "<p>text</p><h1>Head</h1>"},
}

// markdownShowcase is a reply with every block kind, for the screenshot.
const markdownShowcase = "Here is a **summary** with `inline code`, *emphasis* and a [link](https://example.com).\n\n" +
	"| planet | moons | day (h) |\n|:--|--:|--:|\n| Earth | 1 | 24 |\n| Mars | 2 | 24.6 |\n| Jupiter | 95 | 9.9 |\n\n" +
	"```python\ndef moons(planet):\n    return {\"Earth\": 1, \"Mars\": 2}[planet]\n```\n\n" +
	"1. First, count the bags.\n2. Then multiply:\n   - 12 bags\n   - 7 marbles each\n\n" +
	"> A quote, for good measure.\n\n<img src=x onerror=alert(1)> stays text."

func testMarkdown(t *testing.T, p *page) {
	t.Helper()
	ins := make([]string, len(markdownCases))
	for i, c := range markdownCases {
		ins[i] = c.in
	}
	js, _ := json.Marshal(ins)
	got := eval[[]string](p, `import('./static/markdown.js').then(m => `+string(js)+`.map(s => m.render(s)))`)
	for i, c := range markdownCases {
		if i >= len(got) || got[i] != c.want {
			g := ""
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("render(%q):\n got %s\nwant %s", c.in, g, c.want)
		}
	}

	// A stored conversation with that reply (and a calculator call) shows as
	// rendered Markdown, with no element the model wrote.
	conv := map[string]any{"id": "md", "title": "Markdown showcase", "created": 1, "updated": 4102444800000,
		"messages": []map[string]any{
			{"role": "user", "content": "Show me some markdown, and 12*7."},
			{"role": "assistant", "content": markdownShowcase + "\n\n12*7 = 84", "model": "sft/d4/1514",
				"usage": map[string]int{"completion_tokens": 120}, "ms": 2400,
				"parts": []map[string]string{{"type": "text", "text": markdownShowcase + "\n\n12*7 = "},
					{"type": "python", "text": "12*7"}, {"type": "python_output", "text": "84"}, {"type": "text", "text": "84"}}},
		}}
	cj, _ := json.Marshal(conv)
	p.do(chromedp.Evaluate[chromedp.Void](`(() => { const l = JSON.parse(localStorage.getItem('nanochat.conversations') || '[]');
		l.unshift(`+string(cj)+`); localStorage.setItem('nanochat.conversations', JSON.stringify(l)); })()`),
		chromedp.Reload())
	p.wait("the conversation list", `document.querySelector('#conversations .conv')`)
	p.do(chromedp.Click(chromedp.CSS(`#conversations .conv:first-child .conv-open`)))
	p.wait("the markdown reply", `document.querySelector('.md table')`)
	if n := eval[int](p, `document.querySelectorAll('.md img, .md script, .md [onerror]').length`); n != 0 {
		t.Errorf("%d elements from the model's markup in the reply, want 0", n)
	}
	if chip := eval[string](p, `document.querySelector('.md .tool').textContent`); chip != "12*7 → 84" {
		t.Errorf("chip %q, want %q", chip, "12*7 → 84")
	}
	if text := eval[string](p, `document.querySelector('.md').innerText`); !strings.Contains(text, "<img src=x onerror=alert(1)> stays text.") {
		t.Errorf("the raw tag is not shown as text: %q", text)
	}
	p.shot("markdown-light")
}
