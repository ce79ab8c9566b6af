// markdown.js renders the Markdown a model writes into HTML, safely.
//
// Model output is untrusted: every piece of source text is HTML-escaped
// before it is placed in markup, the only tags produced are the ones this
// file writes, and links (never images: they would make requests) must be
// http(s) and open in a new tab with rel="noopener noreferrer".
//
// Blocks: fenced code (``` or ~~~, with a language label and a copy button),
// headings, blockquotes, lists (nested by indentation), pipe tables with
// alignment, rules and paragraphs (a single newline is a line break, as
// chat replies mean it). Inline: code spans, **bold**, *italic*, ~~struck~~,
// [links](https://…), <https://…> and bare http(s) URLs, backslash escapes.
// Emphasis needs a word boundary outside it, so "12*7 and 3*4" stays math.
//
// An unclosed code fence runs to the end, so a reply renders sensibly while
// it is still streaming.

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*)|[ \t]*$)/;
const TABLE_RULE = /^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$/;

// escapeHTML makes s safe as element text and as a quoted attribute value.
export function escapeHTML(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// render returns the HTML for Markdown source src.
export function render(src) {
  const lines = String(src).replace(/\r\n?/g, '\n').replace(/\u0000/g, '\uFFFD').split('\n');
  return blocks(lines, false);
}

// blocks renders lines as a sequence of blocks; tight (a list item without
// blank lines) leaves its paragraphs unwrapped.
function blocks(lines, tight) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (line.trim() === '') {
      i++;
    } else if ((m = FENCE.exec(line))) {
      i = fence(lines, i, m, out);
    } else if ((m = HEADING.exec(line))) {
      const n = m[1].length;
      out.push(`<h${n}>${inline(m[2] || '')}</h${n}>`);
      i++;
    } else if (RULE.test(line)) {
      out.push('<hr>');
      i++;
    } else if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(lines[i++].replace(QUOTE, ''));
      out.push(`<blockquote>${blocks(body, false)}</blockquote>`);
    } else if (isTable(lines, i)) {
      i = table(lines, i, out);
    } else if (ITEM.test(line)) {
      i = list(lines, i, out);
    } else {
      const para = [];
      while (i < lines.length && lines[i].trim() !== '' && (para.length === 0 || !startsBlock(lines, i))) {
        para.push(lines[i++].trim());
      }
      const html = inline(para.join('\n')).replace(/\n/g, '<br>');
      out.push(tight ? html : `<p>${html}</p>`);
    }
  }
  return out.join('');
}

// startsBlock reports whether lines[i] ends a paragraph by starting a block.
function startsBlock(lines, i) {
  const line = lines[i];
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
    ITEM.test(line) || isTable(lines, i);
}

function fence(lines, i, m, out) {
  const mark = m[1];
  const body = [];
  for (i++; i < lines.length; i++) {
    const close = lines[i].trim();
    if (close.length >= mark.length && close === mark[0].repeat(close.length)) {
      i++;
      break;
    }
    body.push(lines[i]);
  }
  const lang = escapeHTML(m[2]);
  out.push(`<div class="code"><div class="code-head"><span>${lang || 'text'}</span>` +
    `<button type="button" class="copy-code">Copy</button></div>` +
    `<pre><code${lang ? ` class="lang-${lang}"` : ''}>${escapeHTML(body.join('\n'))}</code></pre></div>`);
  return i;
}

function isTable(lines, i) {
  return lines[i].includes('|') && i + 1 < lines.length && lines[i + 1].includes('-') && TABLE_RULE.test(lines[i + 1]);
}

// cells splits a table row on the pipes that are not escaped.
function cells(row) {
  let s = row.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

function table(lines, i, out) {
  const head = cells(lines[i]);
  const align = cells(lines[i + 1]).map((c) =>
    c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : c.startsWith(':') ? 'left' : '');
  const cell = (tag, text, k) => {
    const a = align[k] ? ` class="${align[k]}"` : '';
    return `<${tag}${a}>${inline(text || '')}</${tag}>`;
  };
  let html = '<div class="table"><table><thead><tr>' + head.map((c, k) => cell('th', c, k)).join('') + '</tr></thead><tbody>';
  for (i += 2; i < lines.length && lines[i].trim() !== '' && lines[i].includes('|'); i++) {
    const row = cells(lines[i]);
    html += '<tr>' + head.map((_, k) => cell('td', row[k], k)).join('') + '</tr>';
  }
  out.push(html + '</tbody></table></div>');
  return i;
}

const indentOf = (line) => line.length - line.trimStart().length;

// list renders the list starting at lines[i]: its items are the lines with
// the same marker kind at the same indentation; deeper lines (and lazy
// paragraph continuations) belong to the item above them.
function list(lines, i, out) {
  const first = ITEM.exec(lines[i]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const items = [];
  let loose = false;
  let cur, contentIndent;
  while (i < lines.length) {
    const line = lines[i];
    const m = ITEM.exec(line);
    if (m && m[1].length === indent && /\d/.test(m[2]) === ordered) {
      cur = [m[3] || ''];
      contentIndent = indent + m[2].length + 1;
      items.push(cur);
      i++;
    } else if (line.trim() === '') {
      const next = lines[i + 1];
      const nm = next !== undefined && ITEM.exec(next);
      if (next === undefined || !(indentOf(next) > indent || (nm && nm[1].length === indent && /\d/.test(nm[2]) === ordered))) break;
      if (indentOf(next) <= indent) loose = true;
      cur.push('');
      i++;
    } else if (indentOf(line) > indent) {
      cur.push(line.slice(Math.min(indentOf(line), contentIndent)));
      i++;
    } else if (cur[cur.length - 1] !== '' && !startsBlock(lines, i)) {
      cur.push(line.trim());
      i++;
    } else {
      break;
    }
  }
  const start = ordered && parseInt(first[2], 10) !== 1 ? ` start="${parseInt(first[2], 10)}"` : '';
  const tag = ordered ? 'ol' : 'ul';
  out.push(`<${tag}${start}>` + items.map((it) => `<li>${blocks(it, !loose && !it.includes(''))}</li>`).join('') + `</${tag}>`);
  return i;
}

const SAFE_URL = /^https?:\/\/[^\s<>"'\u0000-\u001f\uE000\uE001]+$/i;

function link(url, textHTML) {
  return `<a href="${escapeHTML(url)}" target="_blank" rel="noopener noreferrer">${textHTML}</a>`;
}

// inline renders one paragraph's text. Code spans, links and escapes are
// cut out first (each becomes a placeholder holding its finished HTML),
// the rest is escaped, emphasis is applied to the escaped text, and the
// placeholders are put back.
function inline(text, noLinks) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let s = '';
  for (let i = 0; i < text.length;) {
    if (!'\\`[!<hH'.includes(text[i])) {
      s += text[i++];
      continue;
    }
    const rest = text.slice(i);
    let m;
    if ((m = /^\\([!-/:-@[-`{-~])/.exec(rest))) {
      s += hold(escapeHTML(m[1]));
    } else if ((m = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(rest))) {
      let code = m[2].replace(/\n/g, ' ');
      if (/^ .* $/.test(code) && code.trim() !== '') code = code.slice(1, -1);
      s += hold(`<code>${escapeHTML(code)}</code>`);
    } else if (rest[0] === '`') {
      m = /^`+/.exec(rest);
      s += m[0];
    } else if (!noLinks && (m = /^!?\[((?:[^\]\\]|\\.)*)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))*)>?(?:\s+"[^"]*")?\s*\)/.exec(rest))) {
      const label = m[1] || m[2];
      s += hold(SAFE_URL.test(m[2]) ? link(m[2], inline(label, true)) : inline(label, true));
    } else if (!noLinks && (m = /^<(https?:\/\/[^\s<>]+)>/i.exec(rest)) && SAFE_URL.test(m[1])) {
      s += hold(link(m[1], escapeHTML(m[1])));
    } else if (!noLinks && !/[\w/]/.test(text[i - 1] || ' ') && (m = /^https?:\/\/[^\s<>"'\uE000\uE001]+/i.exec(rest))) {
      const url = m[0].replace(/[.,;:!?'")\]]+$/, '');
      s += hold(link(url, escapeHTML(url)));
      m = [url];
    } else {
      m = [rest[0]];
      s += rest[0];
    }
    i += m[0].length;
  }
  let html = escapeHTML(s);
  html = emphasis(html, '\\*\\*', 'strong');
  html = emphasis(html, '__', 'strong');
  html = emphasis(html, '~~', 'del');
  html = emphasis(html, '\\*', 'em');
  html = emphasis(html, '_', 'em');
  return html.replace(/\u0000(\d+)\u0000/g, (_, n) => held[+n]);
}

// emphasis wraps text between a pair of delimiters d in tag. The opening
// delimiter must follow a non-word character and precede a non-space one;
// the closing one the reverse.
function emphasis(html, d, tag) {
  const re = new RegExp(`(^|[^\\w*~])${d}(?=[^\\s])([\\s\\S]*?[^\\s\\\\])${d}(?![\\w])`, 'g');
  return html.replace(re, (_, pre, body) => `${pre}<${tag}>${body}</${tag}>`);
}
