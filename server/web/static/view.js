// view.js builds the transcript's DOM from messages. Text a person or a
// model wrote reaches the page only as textContent or through markdown.js,
// which escapes it; nothing else here takes HTML.

import { render, escapeHTML } from './markdown.js';

// The demo question (make demo asks it) and two more to start from.
export const suggestions = [
  'There are 12 bags. Each of them has 7 marbles. How many marbles are there in total?',
  'Why is the sky blue?',
  'Write a short poem about the sea.',
];

export function icon(name) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(action, name, label, text) {
  const b = el('button', 'act');
  b.type = 'button';
  b.dataset.action = action;
  b.title = label;
  b.setAttribute('aria-label', label);
  b.append(icon(name));
  if (text) b.append(el('span', '', text));
  return b;
}

// chip is a calculator call as the terminal app shows it: "12*7 → 84".
function chip(expr, result) {
  const res = result === null ? 'no result' : result;
  return `<span class="tool" title="calculator">${escapeHTML(expr)} → ${escapeHTML(res)}</span>`;
}

// replyHTML renders an assistant message: its text parts as Markdown, each
// calculator call (a python part and the python_output after it) as a chip
// where it happened. The calls stand in the Markdown source as private-use
// placeholders, replaced once the Markdown is HTML.
export function replyHTML(msg) {
  const parts = msg.parts && msg.parts.length ? msg.parts : [{ type: 'text', text: msg.content || '' }];
  const chips = [];
  let src = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.type === 'text') {
      src += p.text.replace(/[\uE000\uE001]/g, '');
    } else if (p.type === 'python') {
      const out = parts[i + 1] && parts[i + 1].type === 'python_output' ? parts[++i].text : null;
      src += ` \uE000${chips.push(chip(p.text, out)) - 1}\uE001 `;
    } else if (p.type === 'python_output') {
      src += ` \uE000${chips.push(chip('', p.text)) - 1}\uE001 `;
    }
  }
  return render(src).replace(/\uE000(\d+)\uE001/g, (_, n) => chips[+n]);
}

// meta is what the line under a reply says: model, tokens, speed, how it
// ended.
function meta(msg) {
  const bits = [];
  if (msg.model) bits.push(msg.model);
  if (msg.usage) bits.push(`${msg.usage.completion_tokens} tokens`);
  if (msg.usage && msg.ms > 0) bits.push(`${(msg.usage.completion_tokens / (msg.ms / 1000)).toFixed(1)} tok/s`);
  if (msg.stopped) bits.push('stopped');
  if (msg.finish === 'length') bits.push('cut at max tokens');
  return bits;
}

// messageNode builds one message. opts: last (the newest message), lastUser
// (the newest user message), streaming (this reply is being generated),
// busy (any reply is).
export function messageNode(msg, opts) {
  const node = el('article', `msg ${msg.role}`);
  if (msg.role === 'user') {
    node.append(el('div', 'bubble', msg.content));
    if (opts.lastUser && !opts.busy) {
      const acts = el('div', 'acts');
      acts.append(button('edit', 'edit', 'Edit this message', 'Edit'));
      node.append(acts);
    }
    return node;
  }
  const body = el('div', 'body md');
  node.append(body);
  updateReply(node, msg, opts.streaming);
  if (!opts.streaming) {
    if (msg.error) node.append(el('div', 'error', msg.error));
    const foot = el('div', 'foot');
    const line = el('span', 'meta');
    meta(msg).forEach((bit, i) => line.append(...(i ? [' · '] : []), el('span', '', bit)));
    foot.append(line);
    const acts = el('div', 'acts');
    acts.append(button('copy', 'copy', 'Copy the reply'));
    if (opts.last && !opts.busy) acts.append(button('regenerate', 'redo', 'Regenerate the reply', 'Regenerate'));
    foot.append(acts);
    node.append(foot);
  }
  return node;
}

// updateReply redraws a reply's body (cheap enough to do every frame).
export function updateReply(node, msg, streaming) {
  const body = node.querySelector('.body');
  node.classList.toggle('streaming', !!streaming);
  if (streaming && !msg.content && !(msg.parts || []).length) {
    body.innerHTML = '<span class="typing" aria-label="thinking"><i></i><i></i><i></i></span>';
    return;
  }
  body.innerHTML = replyHTML(msg);
  if (streaming) {
    // The caret goes at the end of the text, inside the last block.
    let at = body;
    while (at.lastElementChild && BLOCKS.has(at.lastElementChild.tagName)) at = at.lastElementChild;
    if (at.tagName === 'PRE') at = at.firstElementChild;
    at.append(el('span', 'caret'));
  }
}

const BLOCKS = new Set(['P', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'DIV', 'PRE', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TD', 'TH',
  'H1', 'H2', 'H3', 'H4', 'H5', 'H6']);

// errorNode is a failed request (no reply at all): the server's message
// and a retry.
export function errorNode(message) {
  const node = el('div', 'msg failed');
  node.setAttribute('role', 'alert');
  node.append(el('div', 'error', message));
  const acts = el('div', 'acts');
  acts.append(button('retry', 'redo', 'Try again', 'Retry'));
  node.append(acts);
  return node;
}

// emptyNode greets a new conversation.
export function emptyNode() {
  const node = el('div', 'empty');
  node.append(el('h1', '', 'nanochat'));
  node.append(el('p', '', 'Chat with a nanochat model served by this machine. Replies can use the calculator.'));
  const list = el('div', 'suggest');
  for (const s of suggestions) {
    const b = el('button', '', s);
    b.type = 'button';
    b.dataset.suggest = s;
    list.append(b);
  }
  node.append(list);
  return node;
}

// editNode replaces the last user message while it is edited.
export function editNode(text) {
  const node = el('article', 'msg user editing');
  const area = el('textarea', 'edit-area');
  area.value = text;
  area.setAttribute('aria-label', 'Edit your message');
  const acts = el('div', 'acts');
  const cancel = el('button', 'btn', 'Cancel');
  cancel.type = 'button';
  cancel.dataset.action = 'edit-cancel';
  const save = el('button', 'btn primary', 'Send');
  save.type = 'button';
  save.dataset.action = 'edit-save';
  acts.append(cancel, save);
  node.append(area, acts);
  return node;
}
