// app.js is the chat page: conversations in the sidebar, the transcript,
// the composer, the model picker and the settings and API key dialogs. It
// keeps one state object, saves it with store.js after every change, and
// redraws from it; only a streaming reply is redrawn in place (once per
// animation frame).

import * as api from './api.js';
import * as store from './store.js';
import { messageNode, updateReply, errorNode, emptyNode, editNode, icon } from './view.js';

const $ = (id) => document.getElementById(id);

const state = {
  convs: store.conversations(),
  current: '', // id of the open conversation; '' is a new one not yet sent
  settings: store.settings(),
  models: [],
  busy: null, // {controller, conv, msg, node} while a reply streams
  editing: false,
};

const conv = () => state.convs.find((c) => c.id === state.current) || null;

function save() {
  if (!store.saveConversations(state.convs)) toast('Could not save the conversation: this browser\'s storage is full or disabled.');
}

let toastTimer;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 4000);
}

// ---- drawing ----

function drawSidebar() {
  const nav = $('conversations');
  nav.replaceChildren();
  for (const c of state.convs) {
    const row = document.createElement('div');
    row.className = 'conv' + (c.id === state.current ? ' active' : '');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'conv-open';
    open.dataset.conv = c.id;
    open.textContent = c.title;
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'conv-del';
    del.dataset.del = c.id;
    del.setAttribute('aria-label', `Delete “${c.title}”`);
    del.append(icon('trash'));
    row.append(open, del);
    nav.append(row);
  }
}

function atBottom() {
  const t = $('transcript');
  return t.scrollHeight - t.scrollTop - t.clientHeight < 48;
}

function toBottom() {
  const t = $('transcript');
  t.scrollTop = t.scrollHeight;
}

function drawMessages() {
  const list = $('messages');
  const c = conv();
  list.replaceChildren();
  if (!c || c.messages.length === 0) {
    list.append(emptyNode());
    return;
  }
  const busy = !!state.busy;
  const lastUser = c.messages.map((m) => m.role).lastIndexOf('user');
  c.messages.forEach((m, i) => {
    if (i === lastUser && state.editing) {
      list.append(editNode(m.content));
      return;
    }
    const streaming = busy && state.busy.msg === m;
    const node = messageNode(m, { last: i === c.messages.length - 1, lastUser: i === lastUser, streaming, busy });
    if (streaming) state.busy.node = node;
    list.append(node);
  });
  if (c.error) list.append(errorNode(c.error));
  const area = list.querySelector('.edit-area');
  if (area) {
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }
}

function drawComposer() {
  const send = $('send');
  send.classList.toggle('stop', !!state.busy);
  send.replaceChildren(icon(state.busy ? 'stop' : 'up'));
  send.setAttribute('aria-label', state.busy ? 'Stop' : 'Send');
  send.title = state.busy ? 'Stop (Esc)' : 'Send (Enter)';
}

function draw() {
  drawSidebar();
  drawMessages();
  drawComposer();
  document.title = conv() ? `${conv().title} · nanochat` : 'nanochat';
}

let frame = 0;
function redrawReply() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (!state.busy || !state.busy.node) return;
    const stick = atBottom();
    updateReply(state.busy.node, state.busy.msg, true);
    if (stick) toBottom();
  });
}

// ---- conversations ----

function title(text) {
  const line = text.trim().split('\n')[0];
  return line.length > 60 ? line.slice(0, 57) + '…' : line;
}

function open(id) {
  if (state.busy) stop();
  state.current = id;
  history.replaceState(null, '', id ? `#${id}` : location.pathname + location.search);
  state.editing = false;
  closeSidebar();
  draw();
  toBottom();
}

function remove(id) {
  const c = state.convs.find((x) => x.id === id);
  if (!c || !confirm(`Delete “${c.title}”?`)) return;
  if (state.busy && state.busy.conv === c) stop();
  state.convs = state.convs.filter((x) => x !== c);
  save();
  if (state.current === id) open('');
  else draw();
}

// requestMessages is the conversation as the server takes it: the system
// prompt first, replies with their parts, and user messages that never got
// a reply joined to the next one (turns must alternate).
function requestMessages(c, upTo) {
  const out = [];
  if (state.settings.system.trim()) out.push({ role: 'system', content: state.settings.system });
  for (const m of c.messages.slice(0, upTo)) {
    const prev = out[out.length - 1];
    if (m.role === 'user' && prev && prev.role === 'user') {
      prev.content += '\n\n' + m.content;
    } else if (m.role === 'user') {
      out.push({ role: 'user', content: m.content });
    } else if (!m.content && !(m.parts || []).length) {
      continue; // stopped before it began: its user message is unanswered
    } else if ((m.parts || []).some((p) => p.type !== 'text')) {
      out.push({ role: 'assistant', content: m.content, parts: m.parts });
    } else {
      out.push({ role: 'assistant', content: m.content });
    }
  }
  return out;
}

function sampling() {
  const s = state.settings;
  const body = {};
  for (const [k, parse] of [['temperature', parseFloat], ['top_p', parseFloat], ['top_k', (v) => parseInt(v, 10)], ['max_tokens', (v) => parseInt(v, 10)]]) {
    if (String(s[k]).trim() !== '' && !Number.isNaN(parse(s[k]))) body[k] = parse(s[k]);
  }
  return body;
}

function addText(msg, text) {
  const last = msg.parts[msg.parts.length - 1];
  if (last && last.type === 'text') last.text += text;
  else msg.parts.push({ type: 'text', text });
  msg.content += text;
}

// generate streams a reply to conversation c's last message.
async function generate(c) {
  const model = $('model').value || state.settings.model;
  const msg = { role: 'assistant', content: '', parts: [], model };
  const body = { model, messages: requestMessages(c, c.messages.length), ...sampling() };
  c.messages.push(msg);
  c.error = '';
  c.updated = Date.now();
  state.convs = [c, ...state.convs.filter((x) => x !== c)]; // newest first, as stored
  const controller = new AbortController();
  state.busy = { controller, conv: c, msg, node: null };
  save();
  draw();
  toBottom();
  let first = 0;
  let failure = null;
  try {
    for await (const ev of api.streamChat(body, controller.signal)) {
      if ((ev.content || ev.tool) && !first) first = performance.now();
      if (ev.content) addText(msg, ev.content);
      if (ev.tool) {
        msg.parts.push({ type: 'python', text: ev.tool.expr });
        if (ev.tool.ok) msg.parts.push({ type: 'python_output', text: ev.tool.result });
      }
      if (ev.finish) msg.finish = ev.finish;
      if (ev.usage) msg.usage = ev.usage;
      redrawReply();
    }
    if (first) msg.ms = performance.now() - first;
  } catch (err) {
    if (controller.signal.aborted) msg.stopped = true;
    else failure = err;
  }
  state.busy = null;
  const empty = !msg.content && msg.parts.length === 0;
  if (empty && !msg.stopped) c.messages.pop(); // a stopped empty reply stays, to regenerate
  if (failure && failure.status === 401) {
    if (await askKey(failure.message)) return generate(c);
    c.error = failure.message;
  } else if (failure && empty) {
    c.error = failure.message;
  } else if (failure) {
    msg.error = failure.message;
  }
  c.updated = Date.now();
  save();
  const stick = atBottom();
  draw();
  if (stick) toBottom();
}

function send(text) {
  text = text.replace(/^\s*\n|\s+$/g, ''); // blank lines around it, not its indentation
  if (state.busy || !text) return;
  let c = conv();
  if (!c) {
    c = { id: store.newID(), title: title(text), created: Date.now(), updated: Date.now(), messages: [] };
    state.convs.unshift(c);
    state.current = c.id;
    history.replaceState(null, '', `#${c.id}`);
  }
  c.messages.push({ role: 'user', content: text });
  state.editing = false;
  $('input').value = '';
  autosize();
  generate(c);
}

function stop() {
  if (state.busy) state.busy.controller.abort();
}

function regenerate() {
  const c = conv();
  if (!c || state.busy) return;
  if (c.messages.length && c.messages[c.messages.length - 1].role === 'assistant') c.messages.pop();
  generate(c);
}

function startEdit() {
  const c = conv();
  if (!c || state.busy || !c.messages.some((m) => m.role === 'user')) return;
  state.editing = true;
  drawMessages();
}

function saveEdit() {
  const c = conv();
  const area = document.querySelector('.edit-area');
  if (!c || !area || !area.value.trim()) return;
  const i = c.messages.map((m) => m.role).lastIndexOf('user');
  c.messages.splice(i);
  c.messages.push({ role: 'user', content: area.value });
  if (i === 0) c.title = title(area.value);
  state.editing = false;
  generate(c);
}

// ---- models, settings, key, theme ----

async function loadModels() {
  const sel = $('model');
  try {
    state.models = await api.models();
  } catch (err) {
    if (err.status === 401 && await askKey(err.message)) return loadModels();
    sel.replaceChildren(new Option('no models: ' + err.message, ''));
    toast(err.message);
    return;
  }
  sel.replaceChildren(...state.models.map((m) => new Option(m.id, m.id)));
  const want = state.models.find((m) => m.id === state.settings.model) || state.models.find((m) => m.default) || state.models[0];
  if (want) sel.value = want.id;
}

let keyWaiting = null;

// askKey opens the API key dialog (once, however many requests wait on
// it) and resolves to whether a key was saved.
function askKey(reason) {
  if (keyWaiting) return keyWaiting;
  const dlg = $('key-dialog');
  $('key-why').textContent = reason ? `${store.currentKey() ? 'The saved key was refused' : 'Server'}: ${reason}` : '';
  $('key-input').value = store.currentKey();
  keyWaiting = new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      keyWaiting = null;
      const key = $('key-input').value.trim();
      if (dlg.returnValue === 'ok' && key) {
        store.setAPIKey(key);
        resolve(true);
      } else {
        resolve(false);
      }
    }, { once: true });
  });
  dlg.returnValue = '';
  dlg.showModal();
  return keyWaiting;
}

function openSettings() {
  const f = $('settings-form');
  for (const k of ['temperature', 'top_k', 'top_p', 'max_tokens', 'system']) f.elements[k].value = state.settings[k];
  $('settings').showModal();
}

function readSettings() {
  const f = $('settings-form');
  for (const k of ['temperature', 'top_k', 'top_p', 'max_tokens', 'system']) state.settings[k] = f.elements[k].value;
  store.saveSettings(state.settings);
}

const themes = { auto: ['auto', 'Theme: auto'], light: ['sun', 'Theme: light'], dark: ['moon', 'Theme: dark'] };

function applyTheme() {
  const t = themes[state.settings.theme] ? state.settings.theme : 'auto';
  if (t === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  $('theme-button').replaceChildren(icon(themes[t][0]), ' ', Object.assign(document.createElement('span'), { textContent: themes[t][1] }));
}

// ---- wiring ----

function autosize() {
  const input = $('input');
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight, window.innerHeight * 0.4) + 'px';
}

function closeSidebar() {
  document.body.classList.remove('side-open');
}

function copy(text) {
  const done = () => toast('Copied');
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => toast('Copy failed'));
    return;
  }
  const t = Object.assign(document.createElement('textarea'), { value: text });
  document.body.append(t);
  t.select();
  document.execCommand('copy');
  t.remove();
  done();
}

function wire() {
  const input = $('input');
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    if (state.busy) stop();
    else send(input.value);
  });
  input.addEventListener('input', autosize);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!state.busy) send(input.value);
    } else if (e.key === 'ArrowUp' && input.value === '') {
      e.preventDefault();
      startEdit();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.busy && !document.querySelector('dialog[open]')) stop();
  });
  $('messages').addEventListener('click', (e) => {
    const t = e.target.closest('button');
    if (!t) return;
    if (t.dataset.suggest) return send(t.dataset.suggest);
    if (t.classList.contains('copy-code')) return copy(t.closest('.code').querySelector('code').textContent);
    const c = conv();
    switch (t.dataset.action) {
      case 'copy': {
        const i = [...$('messages').querySelectorAll('.msg')].indexOf(t.closest('.msg'));
        return copy(c.messages[i].content);
      }
      case 'regenerate': return regenerate();
      case 'retry': c.error = ''; return generate(c);
      case 'edit': return startEdit();
      case 'edit-cancel': state.editing = false; return drawMessages();
      case 'edit-save': return saveEdit();
    }
  });
  $('messages').addEventListener('keydown', (e) => {
    if (!e.target.classList.contains('edit-area')) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      saveEdit();
    } else if (e.key === 'Escape') {
      state.editing = false;
      drawMessages();
    }
  });
  $('conversations').addEventListener('click', (e) => {
    const t = e.target.closest('button');
    if (t && t.dataset.conv) open(t.dataset.conv);
    if (t && t.dataset.del) remove(t.dataset.del);
  });
  for (const id of ['new-chat', 'new-chat-top']) $(id).addEventListener('click', () => open(''));
  $('menu').addEventListener('click', () => document.body.classList.add('side-open'));
  $('close-side').addEventListener('click', closeSidebar);
  $('scrim').addEventListener('click', closeSidebar);
  $('model').addEventListener('change', (e) => {
    state.settings.model = e.target.value;
    store.saveSettings(state.settings);
  });
  $('settings-button').addEventListener('click', openSettings);
  $('settings-form').addEventListener('input', readSettings);
  $('settings-reset').addEventListener('click', () => {
    for (const k of ['temperature', 'top_k', 'top_p', 'max_tokens', 'system']) $('settings-form').elements[k].value = '';
    readSettings();
  });
  $('key-button').addEventListener('click', () => askKey(''));
  $('key-cancel').addEventListener('click', () => $('key-dialog').close(''));
  $('key-forget').addEventListener('click', () => {
    store.setAPIKey('');
    $('key-input').value = '';
    $('key-dialog').close('');
    toast('API key forgotten');
  });
  $('theme-button').addEventListener('click', () => {
    const order = ['auto', 'light', 'dark'];
    state.settings.theme = order[(order.indexOf(state.settings.theme) + 1) % order.length];
    store.saveSettings(state.settings);
    applyTheme();
  });
  // Another tab changed the conversations: take its version unless a reply
  // is streaming here.
  window.addEventListener('storage', (e) => {
    if (e.key !== 'nanochat.conversations' || state.busy || state.editing) return;
    state.convs = store.conversations();
    draw();
  });
}

const opened = decodeURIComponent(location.hash.slice(1));
if (state.convs.some((c) => c.id === opened)) state.current = opened;
wire();
applyTheme();
draw();
loadModels();
if (matchMedia('(pointer: fine)').matches) $('input').focus(); // not on phones: it would open the keyboard
