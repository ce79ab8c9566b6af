// api.js talks to the nanochat server that served this page, over its
// OpenAI-compatible API, with relative URLs (so the page also works behind
// a proxy under a sub-path). Errors become APIError with the server's own
// message: its OpenAI error object ({"error": {"message"}}) or upstream's
// {"detail"}; only a body with neither falls back to the HTTP status.

import { currentKey } from './store.js';

export class APIError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

// messageOf reads the server's message from an error body.
function messageOf(status, text) {
  try {
    const j = JSON.parse(text);
    if (j && j.error && typeof j.error.message === 'string') return [j.error.message, j.error.code];
    if (j && typeof j.error === 'string') return [j.error];
    if (j && typeof j.detail === 'string') return [j.detail];
    if (j && Array.isArray(j.detail)) return [j.detail.map((d) => d.msg || JSON.stringify(d)).join('; ')];
  } catch { /* not JSON */ }
  const t = text.trim();
  return [t ? t.slice(0, 500) : `HTTP ${status}`];
}

// call fetches path with the API key, if one is kept, and throws APIError
// for anything but a 2xx.
async function call(path, init = {}) {
  const headers = new Headers(init.headers);
  const key = currentKey();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  let resp;
  try {
    resp = await fetch(path, { ...init, headers });
  } catch (err) {
    if (init.signal && init.signal.aborted) throw err;
    throw new APIError(0, `cannot reach the server at ${location.origin}: is nanochat serve still running?`);
  }
  if (!resp.ok) {
    const [message, code] = messageOf(resp.status, await resp.text());
    throw new APIError(resp.status, message, code);
  }
  return resp;
}

// models returns GET /v1/models's list.
export async function models() {
  const resp = await call('v1/models');
  const j = await resp.json();
  return Array.isArray(j.data) ? j.data : [];
}

// streamChat posts body to /v1/chat/completions with stream on and yields
// the first choice's events as they arrive: {content}, {tool} (a finished
// calculator call: {expr, result, ok}), {finish}, {usage}. An error event
// in the stream is thrown as APIError; a stream that ends without [DONE]
// too.
export async function* streamChat(body, signal) {
  const resp = await call('v1/chat/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value.replace(/\r\n?/g, '\n');
    for (let k; (k = buf.indexOf('\n\n')) >= 0;) {
      const data = buf.slice(0, k).split('\n')
        .filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      buf = buf.slice(k + 2);
      if (!data) continue;
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data);
      if (chunk.error) {
        const [message, code] = messageOf(resp.status, data);
        throw new APIError(resp.status, message, code);
      }
      for (const ch of chunk.choices || []) {
        if (ch.index) continue;
        const d = ch.delta || {};
        if (d.content) yield { content: d.content };
        if (d.nanochat_tool) yield { tool: d.nanochat_tool };
        if (ch.finish_reason) yield { finish: ch.finish_reason };
      }
      if (chunk.usage) yield { usage: chunk.usage };
    }
  }
  throw new APIError(0, 'the reply stream ended early: the server stopped or the connection dropped');
}
