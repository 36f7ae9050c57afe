// The web chat page of `limarp serve`, end to end in Debian's headless Chromium driven by
// playwright-core (no browser download): upload a character card, set names and the reply
// length, send a message and watch the reply stream in, stop a reply mid-way, regenerate,
// and save a screenshot (LIMARP_BUILD_DIR/browser/chat_page.png).
// Exit 77 (skipped) when Chromium, playwright-core or the assets are missing, except under CI=true.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SKIP = 77;
const bin = process.env.LIMARP_BIN || path.join(here, '../../build/release/bin/limarp');
const assets = process.env.LIMARP_ASSETS || path.join(here, '../../../shared/assets');
const buildDir = process.env.LIMARP_BUILD_DIR || path.join(here, '../../build/release');
const chromiumPath = process.env.LIMARP_CHROMIUM || '/usr/bin/chromium';
const model = path.join(assets, 'stories260K/stories260K.gguf');

function skip(why) {
  if (process.env.CI === 'true') { console.log('FAIL ' + why); process.exit(1); }
  console.log('SKIP: ' + why);
  process.exit(SKIP);
}

if (!fs.existsSync(chromiumPath)) skip(`no Chromium at ${chromiumPath} (scripts/setup.sh installs it)`);
if (!fs.existsSync(model)) skip('test assets not found');
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip('playwright-core is not installed (scripts/setup.sh runs npm ci in tests/browser)');
}

let failures = 0;
function check(cond, message) {
  console.log((cond ? 'ok   ' : 'FAIL ') + message);
  if (!cond) failures++;
}

// A minimal PNG character card: IHDR, a tEXt "chara" chunk with base64 JSON, IDAT, IEND.
function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const byte of buf) {
    c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function pngCard(card) {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  const text = Buffer.concat([Buffer.from('chara\0', 'latin1'), Buffer.from(Buffer.from(JSON.stringify(card)).toString('base64'))]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('tEXt', text),
    chunk('IDAT', zlib.deflateSync(Buffer.from([0, 0]))), chunk('IEND', Buffer.alloc(0))]);
}

// Start the server on a free port and wait for it.
function startServer() {
  return new Promise((resolve, reject) => {
    // A long context and token limit give the stop test a reply that would run for seconds: the tiny
    // model writes 1000 tokens faster than a click lands on a fast machine.
    const proc = spawn(bin, ['serve', '-m', model, '--port', '0', '--slots', '2', '-t', '1', '-c', '16384',
                             '--max-tokens-limit', '8000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/serving .* on port (\d+)/);
      if (m) resolve({ proc, port: Number(m[1]), log: () => log });
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}):\n${log}`)));
  });
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'limarp-browser-'));
const cardPath = path.join(work, 'Aqua.png');
fs.writeFileSync(cardPath, pngCard({
  spec: 'chara_card_v2', spec_version: '2.0',
  data: { name: 'Aqua', description: '{{char}} is a goddess of water who teases {{user}}.', personality: 'cheerful, vain',
          scenario: '{{user}} and {{char}} sit in the guild hall.', first_mes: 'Hello, {{user}}! Buy me a drink?', mes_example: '' },
}));

const server = await startServer();
const base = `http://127.0.0.1:${server.port}`;
const userDataDir = fs.mkdtempSync(path.join(work, 'profile-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: chromiumPath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
  viewport: { width: 1200, height: 800 },
});
const page = context.pages()[0] || await context.newPage();
const requests = [];
page.on('request', (r) => { if (r.url().endsWith('/api/limarp/chat')) requests.push(JSON.parse(r.postData())); });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));

try {
  await page.goto(base + '/');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready', null, { timeout: 15000 });
  check(await page.textContent('#model-name') === 'stories260K', 'the page shows the model name');

  // Character card upload fills the character side and adds the greeting.
  await page.setInputFiles('#card-file', cardPath);
  await page.waitForFunction(() => document.getElementById('char-name').value === 'Aqua', null, { timeout: 10000 });
  check((await page.inputValue('#char-persona')).includes('goddess of water who teases {{user}}'), 'card: persona filled');
  check((await page.inputValue('#scenario')).includes('guild hall'), 'card: scenario filled');
  await page.fill('#user-name', 'Kazuma');
  await page.dispatchEvent('#user-name', 'change');
  check((await page.textContent('.message.char .text')) === 'Hello, Kazuma! Buy me a drink?', 'card: greeting shown with the user name');

  // Send a message; the reply streams in.
  await page.selectOption('#length', 'long');
  await page.click('summary');  // open the Generation settings
  await page.fill('#max-tokens', '60');
  await page.fill('#seed', '5');
  await page.fill('#message-input', 'Not again, Aqua. We have no money.');
  await page.click('#send-btn');
  await page.waitForFunction(() => !document.querySelector('.message.char.streaming'), null, { timeout: 20000 });
  await page.waitForFunction(() => !document.getElementById('send-btn').disabled, null, { timeout: 20000 });
  const messages = await page.$$eval('.message', (els) => els.map((e) => ({ cls: e.className, text: e.querySelector('.text')?.textContent })));
  check(messages.length === 3 && messages[1].cls.includes('user') && messages[2].cls.includes('char'), `greeting, message, reply (${messages.length})`);
  check(messages[2].text.length > 0, `the reply has text: ${JSON.stringify(messages[2].text).slice(0, 80)}`);
  const sent = requests[requests.length - 1];
  check(sent && sent.length === 'long' && sent.user === 'Kazuma' && sent.char === 'Aqua' && sent.stream === true
        && sent.messages.length === 2 && sent.messages[0].role === 'char', 'the request carried names, length and the chat');
  check((await page.textContent('#status')).includes('tokens'), `status after the reply: ${await page.textContent('#status')}`);

  // Regenerate replaces the last reply (a new request, same number of messages).
  const before = requests.length;
  await page.fill('#seed', '6');
  await page.click('#regen-btn');
  await page.waitForFunction(() => !document.getElementById('send-btn').disabled && !document.querySelector('.streaming'), null, { timeout: 20000 });
  check(requests.length === before + 1 && requests[requests.length - 1].messages.length === 2, 'regenerate resends the chat without the old reply');
  check((await page.$$('.message')).length === 3, 'regenerate keeps one reply');

  // A long reply streams in pieces; stop it mid-way. The 60-token reply above can arrive as one network
  // chunk on a fast machine (the tiny model writes it in a few milliseconds), so streaming is checked here,
  // where the reply runs for seconds.
  await page.fill('#max-tokens', '8000');
  await page.fill('#seed', '');
  await page.fill('#message-input', 'Tell me a very long story.');
  const seen = page.evaluate(() => new Promise((resolve) => {
    // Records every distinct text the streaming reply shows; resolves after three, or when the reply ends.
    const texts = [];
    const obs = new MutationObserver(() => {
      const el = document.querySelector('.message.char.streaming .text');
      if (el && el.textContent && texts[texts.length - 1] !== el.textContent) texts.push(el.textContent);
      if (texts.length >= 3 || (texts.length && !el)) { obs.disconnect(); resolve(texts); }
    });
    obs.observe(document.getElementById('chat-log'), { subtree: true, childList: true, characterData: true, attributes: true });
  }));
  await page.click('#send-btn');
  const texts = await seen;
  check(texts.length >= 3 && texts.every((t, i) => i === 0 || t.startsWith(texts[i - 1])),
        `the reply streamed in growing pieces (${texts.length} updates)`);
  await page.click('#stop-btn');
  await page.waitForFunction(() => !document.getElementById('send-btn').disabled, null, { timeout: 20000 });
  check((await page.textContent('#status')) === 'stopped', 'stop: the page says stopped');
  // The server frees the slot when its next write finds the connection gone: on a loaded machine
  // (CI runs other tests beside this one) that can trail the page's "stopped" by a moment.
  let slots = [];
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    slots = await (await fetch(base + '/slots')).json();
    if (slots.every((s) => s.state === 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const props = await (await fetch(base + '/props')).json();
  check(slots.every((s) => s.state === 0), 'stop: the server slot is free again (within 5 s)');
  check(props.stats.tokens_generated < 60 + 60 + 7000, `stop: the long reply did not run to its limit (${props.stats.tokens_generated} tokens in all)`);

  const shotDir = path.join(buildDir, 'browser');
  fs.mkdirSync(shotDir, { recursive: true });
  const shot = path.join(shotDir, 'chat_page.png');
  await page.evaluate(() => { document.getElementById('settings').scrollTop = 0; });
  await page.screenshot({ path: shot });
  check(fs.statSync(shot).size > 10000, `screenshot saved: ${shot}`);
  check(pageErrors.length === 0, `no script errors on the page (${pageErrors.join('; ')})`);
} catch (e) {
  check(false, 'browser test threw: ' + (e.stack || e));
} finally {
  await context.close();
  server.proc.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
