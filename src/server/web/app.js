// limarp's chat page. The conversation lives here, in the page; every turn sends it whole to
// POST /api/limarp/chat (the server renders the LimaRP prompt and reuses its KV cache for the
// unchanged part) and streams the reply as Server-Sent Events. Stop aborts the request and
// tells the server by genkey; Regenerate replaces the character's last reply.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { messages: [], busy: false, controller: null, genkey: null };

function authHeaders(extra = {}) {
  const h = { ...extra };
  const key = $('api-key').value.trim();
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

function setStatus(text) { $('status').textContent = text; }

function charName() { return $('char-name').value.trim() || 'Character'; }
function userName() { return $('user-name').value.trim() || 'User'; }

function messageElement(msg) {
  const div = document.createElement('div');
  div.className = 'message ' + msg.role;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = msg.role === 'char' ? charName() : userName();
  const text = document.createElement('span');
  text.className = 'text';
  // textContent, never innerHTML: model output and card text are not trusted markup.
  text.textContent = msg.text.replaceAll('{{user}}', userName()).replaceAll('{{char}}', charName());
  div.append(who, text);
  msg.element = div;
  return div;
}

function render() {
  const log = $('chat-log');
  log.replaceChildren(...state.messages.map(messageElement));
  log.scrollTop = log.scrollHeight;
  updateButtons();
}

function updateButtons() {
  $('send-btn').disabled = state.busy;
  $('stop-btn').disabled = !state.busy;
  const last = state.messages[state.messages.length - 1];
  $('regen-btn').disabled = state.busy || !last || last.role !== 'char';
}

function showError(message) {
  const div = document.createElement('div');
  div.className = 'message error';
  div.textContent = message;
  $('chat-log').append(div);
  setStatus('error');
}

function requestBody(history) {
  const body = {
    char: $('char-name').value, user: $('user-name').value,
    char_persona: $('char-persona').value, user_persona: $('user-persona').value,
    scenario: $('scenario').value, length: $('length').value,
    messages: history.map((m) => ({ role: m.role, text: m.text })),
    stream: true, genkey: state.genkey,
    max_tokens: Number($('max-tokens').value) || 200,
    temperature: Number($('temperature').value),
  };
  if ($('seed').value !== '') body.seed = Number($('seed').value);
  return body;
}

// Reads "data: {...}" events from a fetch body, calling onEvent for each parsed object.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) onEvent(JSON.parse(data));
    }
  }
}

async function generate() {
  const history = state.messages.slice();
  const reply = { role: 'char', text: '' };
  state.messages.push(reply);
  state.busy = true;
  state.genkey = 'web-' + Math.random().toString(36).slice(2);
  state.controller = new AbortController();
  render();
  reply.element.classList.add('streaming');
  setStatus('writing…');
  const textEl = reply.element.querySelector('.text');
  // One DOM update per frame, not per token: a fast model sends hundreds of events a second, and
  // relaying out the growing reply for each kept the page too busy to take a click on Stop.
  let frameQueued = false;
  const showReply = () => {
    frameQueued = false;
    textEl.textContent = reply.text;
    $('chat-log').scrollTop = $('chat-log').scrollHeight;
  };
  let stopped = false;
  try {
    const response = await fetch('/api/limarp/chat', {
      method: 'POST', headers: authHeaders({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(requestBody(history)), signal: state.controller.signal,
    });
    if (!response.ok) {
      let message = 'HTTP ' + response.status;
      try { message = (await response.json()).error?.message || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    await readEvents(response, (event) => {
      if (event.error) throw new Error(event.error.message);
      if (event.done) {
        reply.text = event.text;  // the final text (trimmed to its last full sentence at the limit)
        const t = event.timings || {};
        setStatus(`${event.usage?.completion_tokens ?? 0} tokens · first after ${Math.round(t.first_token_ms ?? 0)} ms · prompt ${event.prompt?.evaluated ?? 0} new / ${event.prompt?.reused ?? 0} cached`);
      } else if (typeof event.text === 'string') {
        reply.text += event.text;
      }
      if (!frameQueued) { frameQueued = true; requestAnimationFrame(showReply); }
    });
  } catch (e) {
    if (e.name === 'AbortError') { stopped = true; setStatus('stopped'); }
    else showError(String(e.message || e));
  } finally {
    state.busy = false;
    state.controller = null;
    if (!reply.text.trim()) state.messages.pop();
    const errors = [...document.querySelectorAll('.message.error')];
    render();
    $('chat-log').append(...errors);
    if (stopped && reply.text.trim()) setStatus('stopped');
  }
}

function stop() {
  if (!state.busy) return;
  const genkey = state.genkey;
  state.controller?.abort();
  fetch('/api/extra/abort', {
    method: 'POST', headers: authHeaders({ 'Content-Type': 'application/json' }), body: JSON.stringify({ genkey }),
  }).catch(() => {});
}

function send(event) {
  event.preventDefault();
  if (state.busy) return;
  const text = $('message-input').value.trim();
  if (text) {
    state.messages.push({ role: 'user', text });
    $('message-input').value = '';
  }
  if (!state.messages.length) return;
  generate();
}

function regenerate() {
  if (state.busy || !state.messages.length || state.messages[state.messages.length - 1].role !== 'char') return;
  state.messages.pop();
  generate();
}

async function loadCard(file) {
  setStatus('reading card…');
  try {
    const response = await fetch('/api/limarp/card', {
      method: 'POST', headers: authHeaders({ 'Content-Type': 'application/octet-stream' }), body: await file.arrayBuffer(),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error?.message || 'HTTP ' + response.status);
    const chat = body.chat;
    $('char-name').value = chat.char || '';
    $('char-persona').value = chat.char_persona || '';
    $('scenario').value = chat.scenario || '';
    if (!state.messages.length && chat.messages?.length) state.messages = chat.messages.map((m) => ({ role: m.role, text: m.text }));
    render();
    setStatus(`card: ${chat.char || 'loaded'}`);
  } catch (e) {
    showError('card: ' + (e.message || e));
  }
}

async function init() {
  $('composer').addEventListener('submit', send);
  $('message-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) send(e);
  });
  $('stop-btn').addEventListener('click', stop);
  $('regen-btn').addEventListener('click', regenerate);
  $('clear-btn').addEventListener('click', () => { if (!state.busy) { state.messages = []; render(); } });
  $('card-file').addEventListener('change', (e) => { if (e.target.files[0]) loadCard(e.target.files[0]); });
  for (const id of ['char-name', 'user-name']) $(id).addEventListener('change', render);
  render();
  try {
    const response = await fetch('/v1/models', { headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error?.message || 'HTTP ' + response.status);
    $('model-name').textContent = body.data[0].id;
    setStatus('ready');
  } catch (e) {
    setStatus('not connected: ' + (e.message || e));
  }
}

init();
