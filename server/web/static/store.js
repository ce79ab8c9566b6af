// store.js keeps what the page remembers in this browser's localStorage
// (per server origin): the conversations, the settings and the API key.
//
// A conversation is {id, title, created, updated, messages}; a message is
// {role: "user", content} or {role: "assistant", content, parts, model,
// usage, ms, finish, stopped, error}, where parts are the server's
// (text, python, python_output) so a reply with calculator calls is sent
// back exactly as the model wrote it.

const CONVERSATIONS = 'nanochat.conversations';
const SETTINGS = 'nanochat.settings';
const API_KEY = 'nanochat.apiKey';

function read(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key));
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

// write stores v under key and reports whether it could (storage may be
// full or disabled).
function write(key, v) {
  try {
    localStorage.setItem(key, JSON.stringify(v));
    return true;
  } catch {
    return false;
  }
}

// conversations returns the saved conversations, newest first.
export function conversations() {
  const list = read(CONVERSATIONS, []);
  return Array.isArray(list) ? list.filter((c) => c && Array.isArray(c.messages)).sort((a, b) => b.updated - a.updated) : [];
}

export function saveConversations(list) {
  return write(CONVERSATIONS, list);
}

// settings are the model, sampling fields ("" means the server default),
// the system prompt and the theme (auto, light, dark).
export function settings() {
  const s = read(SETTINGS, {});
  return {
    model: '', temperature: '', top_k: '', top_p: '', max_tokens: '', system: '', theme: 'auto',
    ...(typeof s === 'object' ? s : {}),
  };
}

export function saveSettings(s) {
  return write(SETTINGS, s);
}

export function apiKey() {
  try {
    return localStorage.getItem(API_KEY) || '';
  } catch {
    return '';
  }
}

export function setAPIKey(key) {
  try {
    if (key) localStorage.setItem(API_KEY, key);
    else localStorage.removeItem(API_KEY);
  } catch { /* storage disabled: the key lasts until the page closes */ }
  sessionKey = key;
}

let sessionKey = '';

// currentKey is the key to send: the stored one, or the one given in this
// page when storage is unavailable.
export function currentKey() {
  return apiKey() || sessionKey;
}

// newID returns a fresh conversation id.
export function newID() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}
