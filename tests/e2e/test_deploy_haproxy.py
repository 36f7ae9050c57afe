"""Two `limarp serve` replicas of the demo model behind HAProxy, configured by the shipped
deploy/haproxy.cfg (only its addresses rewritten), on loopback:
  1. stickiness: a chat's second turn returns to the replica holding its prompt, which the
     replicas' /metrics show as prompt-cache hits;
  2. 32 concurrent streaming chats, and one replica SIGKILLed mid-load: every request completes,
     or gets a clean HTTP error, or its stream ends early; none hangs, and no stream carries
     another's pieces (one completion id per stream, its text its own chat's greedy reply up to
     near ties);
  3. requests after the failure all succeed on the survivor;
  4. the killed replica, restarted, rejoins and receives traffic;
  5. a SIGTERMed replica drains: its running streams finish whole, it exits 0, and new requests
     go to the other replica meanwhile.
Bounded: every request has a timeout and the whole test a deadline. Skips when haproxy is not
installed (fails under CI=true: scripts/setup.sh installs it)."""
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from common import SKIP, SOURCE, Checker
from server_common import EventSourceParser, Server

HAPROXY = shutil.which("haproxy")
if not HAPROXY:
    if os.environ.get("CI") == "true":
        print("FAIL: haproxy is not installed (scripts/setup.sh installs it)")
        sys.exit(1)
    print("SKIP: haproxy is not installed")
    sys.exit(SKIP)

MODEL = os.path.join(SOURCE, "models", "limarp-demo", "limarp-demo.gguf")
CONFIG = os.path.join(SOURCE, "deploy", "haproxy.cfg")
DEADLINE = time.time() + 240
c = Checker()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replica(port):
    # Four slots, so the stickiness check's chats all stay cached (a fifth would evict one).
    return Server("-m", MODEL, "--slots", "4", "-t", "1", "--metrics", "--drain-timeout", "30", port=port)


def chat_prompt(i, turns):
    """A LimaRP prompt for chat i: its own persona block, then the turns so far."""
    head = (f"### Instruction:\nCharacter {i}'s Persona: Character {i} is a baker number {i} who loves bread "
            f"and tells long stories about the village of Oakvale, the river and the old mill.\n\n"
            f"User's Persona: a traveller.\n\nScenario: The traveller visits the bakery on day {i}.\n\n"
            f"Play the role of Character {i}. Taking the above information into consideration, you must engage "
            f"in a roleplaying chat with User below this line. Do not write User's dialogue lines in your responses.\n\n")
    body = ""
    for user, reply in turns:
        body += f"### Input:\nUser: {user}\n\n### Response: (length = short)\nCharacter {i}:"
        if reply is not None:
            body += f" {reply}\n\n"
    return head + body


def request(port, body, stream, timeout=30, headers=None):
    """POST /v1/completions; returns (status, text, finish_reason, ids, note)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=stream)),
                     headers={"Content-Type": "application/json", **(headers or {})})
        r = conn.getresponse()
        if r.status != 200 or not stream:
            data = r.read()
            if r.status != 200:
                return r.status, "", None, set(), data[:120]
            j = json.loads(data)
            return 200, j["choices"][0]["text"], j["choices"][0]["finish_reason"], {j["id"]}, ""
        parser, text, finish, ids, done = EventSourceParser(), "", None, set(), False
        while True:
            try:
                chunk = r.read1(65536)
            except (http.client.IncompleteRead, ConnectionError) as e:
                return 200, text, finish, ids, f"stream cut: {type(e).__name__}"
            if not chunk:
                break
            for ev in parser.feed(chunk.decode("utf-8", errors="replace")):
                if ev["data"] == "[DONE]":
                    done = True
                    continue
                j = json.loads(ev["data"])
                if "error" in j:
                    return 200, text, finish, ids, f"error event: {j['error']}"
                ids.add(j["id"])
                text += j["choices"][0].get("text") or ""
                finish = j["choices"][0].get("finish_reason") or finish
        return 200, text, finish, ids, "" if done else "stream ended without [DONE]"
    except (socket.timeout, TimeoutError) as e:
        return -1, "", None, set(), f"timed out: {e}"
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        return 0, "", None, set(), f"connection: {type(e).__name__}"
    finally:
        conn.close()


def complete(port, body):
    """A non-streamed completion's JSON (an AssertionError when it fails)."""
    return complete_at(port, "/v1/completions", body)


def complete_at(port, path, body):
    """A POST's JSON answer (an AssertionError when it fails)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 200:
        raise AssertionError(f"completion failed: {r.status} {data[:200]!r}")
    return json.loads(data)


def metric(srv, name, labels=None):
    """One sample's value from a replica's /metrics, parsed by the Prometheus client library."""
    from prometheus_client.parser import text_string_to_metric_families
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    total = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                total += s.value
    return total


def wait_backends(lb_port, srvs, up):
    """Waits until HAProxy routes to exactly the replicas in `up` (via their request counters)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        ok = True
        for s in srvs:
            try:
                status = http.client.HTTPConnection("127.0.0.1", s.port, timeout=2)
                status.request("GET", "/health")
                code = status.getresponse().status
                status.close()
            except OSError:
                code = 0
            ok &= (code == 200) == (s in up)
        if ok:
            time.sleep(2.5)  # two health checks at 1 s (rise 2 / fall 2 in the shipped config)
            return True
        time.sleep(0.2)
    return False


ports = [free_port(), free_port()]
lb_port = free_port()
config_text = open(CONFIG).read()
config_text = config_text.replace("bind 127.0.0.1:8080", f"bind 127.0.0.1:{lb_port}")
config_text = config_text.replace("127.0.0.1:5001", f"127.0.0.1:{ports[0]}").replace("127.0.0.1:5002", f"127.0.0.1:{ports[1]}")
work = os.environ.get("TMPDIR", "/tmp")
cfg_path = os.path.join(work, f"limarp-haproxy-{os.getpid()}.cfg")
with open(cfg_path, "w") as f:
    f.write(config_text)

r1, r2 = replica(ports[0]).__enter__(), replica(ports[1]).__enter__()
lb_log = open(cfg_path + ".log", "w")
lb = subprocess.Popen([HAPROXY, "-db", "-f", cfg_path], stdout=lb_log, stderr=subprocess.STDOUT)
try:
    c.check(wait_backends(lb_port, [r1, r2], [r1, r2]), "both replicas healthy behind HAProxy")

    # 1. Stickiness: each chat's second turn reuses its first turn's prompt from the cache of the
    # replica that ran it. Three chats (an odd number), their second turns after all the first
    # ones: least connections alone, on idle replicas, alternates, so turn 2 of the first chat
    # would land on the other replica.
    greedy = {"max_tokens": 24, "temperature": 0, "stop": ["\n### "]}
    firsts = {}
    for k in range(3):
        prompt = chat_prompt(900 + k, [("Good morning! What do you bake today?", None)])
        firsts[k] = complete(lb_port, dict(greedy, prompt=prompt))
    short_hits = []
    for k in range(3):
        reply = firsts[k]["choices"][0]["text"].strip()
        prompt = chat_prompt(900 + k, [("Good morning! What do you bake today?", reply), ("And for tomorrow?", None)])
        before = sum(metric(r, "limarp_prompt_cache_hit_tokens_total") for r in (r1, r2))
        complete(lb_port, dict(greedy, prompt=prompt))
        hits = sum(metric(r, "limarp_prompt_cache_hit_tokens_total") for r in (r1, r2)) - before
        if hits < firsts[k]["usage"]["prompt_tokens"]:
            short_hits.append((k, hits, firsts[k]["usage"]["prompt_tokens"]))
    c.check(not short_hits, f"every chat's second turn reused its whole first prompt from its replica's cache ({short_hits})")

    # References: each chat's greedy replies, one at a time, straight from a replica.
    chats = 32
    refs = {}
    for i in range(chats):
        t1 = chat_prompt(i, [("Hello there!", None)])
        _, a, _, _, _ = request(r2.port, dict(greedy, prompt=t1), stream=False)
        t2 = chat_prompt(i, [("Hello there!", a.strip()), ("Tell me more.", None)])
        _, b, _, _, _ = request(r2.port, dict(greedy, prompt=t2), stream=False)
        refs[i] = (t1, a, t2, b)

    # 2. 32 concurrent chats of two streamed turns; r1 is killed once 16 streams have finished.
    results, lock, finished = [], threading.Lock(), [0]

    def chat(i):
        t1, a, t2, b = refs[i]
        for prompt, want in ((t1, a), (t2, b)):
            out = request(lb_port, dict(greedy, prompt=prompt), stream=True, timeout=30)
            with lock:
                results.append((i, want, out, prompt))
                finished[0] += 1

    threads = [threading.Thread(target=chat, args=(i,)) for i in range(chats)]
    t0 = time.time()
    for t in threads:
        t.start()
    while finished[0] < 16 and time.time() - t0 < 60:
        time.sleep(0.005)
    r1.proc.send_signal(signal.SIGKILL)
    killed_at = finished[0]
    for t in threads:
        t.join(timeout=max(1, DEADLINE - time.time()))
    hung = [t for t in threads if t.is_alive()]
    c.check(not hung and len(results) == 2 * chats, f"no request hung ({len(hung)} threads left, {len(results)} answers)")
    completed = [r for r in results if r[2][0] == 200 and not r[2][4]]
    clean_errors = [r for r in results if r[2][0] not in (200, -1)]
    cut = [r for r in results if r[2][0] == 200 and r[2][4]]
    timed_out = [r for r in results if r[2][0] == -1]
    c.check(not timed_out, f"no request timed out ({[r[2][4] for r in timed_out][:3]})")
    mixed = [(i, out[3]) for i, _, out, _ in results if len(out[3]) > 1]
    c.check(not mixed, f"each stream carries one completion id ({mixed[:2]})")
    all_ids = [next(iter(out[3])) for _, _, out, _ in results if len(out[3]) == 1]
    c.check(len(all_ids) == len(set(all_ids)), "and no two streams share one")
    # Batched steps round differently from the lone reference run, and more rows can move a
    # product onto the CPU's matrix engine (AMX), which rounds activations to bf16 in every
    # layer, so where two tokens nearly tie a greedy choice can flip, early or late. So a stream
    # must follow its own chat's greedy path except at near ties: wherever it leaves the path,
    # the token it took is among its own prompt's choices there, within NEAR_TIE nats of the
    # best, and from that token on the path is followed again. Rounding moves log-probabilities
    # by hundredths of a nat; another chat's reply (the chats differ only in their numbers)
    # mostly needs tenths to whole nats, which the swap check below shows.
    NEAR_TIE = 0.15

    def leaves_own_path(prompt, got):
        """None when `got` is its prompt's greedy reply up to near ties, else where it is not.
        The walk extends the prompt by token ids (llama.cpp's /completion with n_probs), so the
        text taken is never tokenized again. Where more than one token fits the text ("I" and
        "It" before "t's"), each is tried, the greedy one first."""
        def walk(ids, rest, ties):
            if ties > 7:  # at most 7 near ties in a reply of 24 tokens
                return f"more than 7 near ties in {got!r}"
            j = complete_at(r2.port, "/completion", {"prompt": ids, "n_predict": greedy["max_tokens"], "temperature": 0,
                                                     "stop": greedy["stop"], "n_probs": 100})
            for step in j["completion_probabilities"]:
                tok = step["content"]
                if not rest or tok.startswith(rest):
                    return None
                best = max(p["prob"] for p in step["probs"])
                alts = sorted((p for p in step["probs"] if p["tok_str"] and p["tok_str"] != tok
                               and rest.startswith(p["tok_str"]) and math.log(best / p["prob"]) <= NEAR_TIE),
                              key=lambda p: -len(p["tok_str"]))
                on_path = bool(tok) and rest.startswith(tok)
                if on_path and not alts:
                    ids, rest = ids + [step["id"]], rest[len(tok):]
                    continue
                failure = walk(ids + [step["id"]], rest[len(tok):], ties) if on_path else None
                if on_path and failure is None:
                    return None
                for alt in alts:
                    note = walk(ids + [alt["id"]], rest[len(alt["tok_str"]):], ties + 1)
                    if note is None:
                        return None
                    failure = failure or note
                if failure:
                    return failure
                gaps = [f"{p['tok_str']!r} {math.log(best / p['prob']):.3f} nat" for p in step["probs"]
                        if p["tok_str"] and rest.startswith(p["tok_str"])]
                return f"at {got[:len(got) - len(rest)]!r}: took {rest[:12]!r}, its greedy {tok!r} ({gaps})"
            return None if not rest else f"{rest!r} after its greedy reply ended"

        return walk(complete_at(r2.port, "/tokenize", {"content": prompt, "add_special": True})["tokens"], got, 0)

    # The walk itself tells chats apart: another chat's reply, given as this one's, leaves the path.
    swapped = [(i, leaves_own_path(refs[i][0], refs[(i + 1) % chats][1])) for i in range(chats)
               if refs[i][1] != refs[(i + 1) % chats][1]]
    rejected = sum(1 for _, note in swapped if note)
    c.check(rejected >= len(swapped) / 2, f"the walk refuses another chat's reply ({rejected} of {len(swapped)} swaps)")
    exact = [r for r in completed if r[2][1] == r[1]]
    off_path = [(i, note) for i, want, out, prompt in completed + cut if out[1] != want
                for note in [leaves_own_path(prompt, out[1])] if note]
    c.check(not off_path, f"every stream is its own chat's greedy reply up to near ties ({len(exact)} of "
            f"{len(completed)} exactly; {off_path[:2]})")
    print(f"   killed replica 1 after {killed_at} finished streams: {len(completed)} complete, {len(cut)} cut short, "
          f"{len(clean_errors)} HTTP errors {sorted(set(r[2][0] for r in clean_errors))}")
    c.check(len(completed) >= chats, f"most requests completed ({len(completed)} of {2 * chats})")

    # 3. After the failure: all on the survivor.
    after = [request(lb_port, dict(greedy, prompt=chat_prompt(100 + i, [("Hi!", None)])), stream=False) for i in range(8)]
    c.check(all(a[0] == 200 for a in after), f"8 requests after the kill all succeed ({[a[0] for a in after]})")

    # 4. Restarted, replica 1 rejoins and gets traffic again.
    r1 = replica(ports[0]).__enter__()
    c.check(wait_backends(lb_port, [r1, r2], [r1, r2]), "the restarted replica is healthy again")
    for i in range(8):
        request(lb_port, dict(greedy, prompt=chat_prompt(200 + i, [("Hi!", None)])), stream=False)
    served = metric(r1, "limarp_requests_total", {"route": "/v1/completions", "status": "200"})
    c.check(served >= 1, f"and receives traffic ({served:.0f} of 8 new chats)")

    # 5. SIGTERM one replica while it streams: its streams finish whole, it exits 0, and new
    # requests meanwhile go to the other one.
    long = {"max_tokens": 600, "temperature": 0, "ignore_eos": True, "stop": []}
    outs = {}

    def long_stream(k, port):
        outs[k] = request(port, dict(long, prompt=chat_prompt(300 + k, [("Tell me everything.", None)])), stream=True,
                          timeout=60)

    streams = [threading.Thread(target=long_stream, args=(k, r2.port)) for k in range(2)]
    for t in streams:
        t.start()
    while metric(r2, "limarp_slots_busy") < 2 and any(t.is_alive() for t in streams):
        time.sleep(0.002)
    r2.proc.send_signal(signal.SIGTERM)
    during = request(lb_port, dict(greedy, prompt=chat_prompt(400, [("Hi!", None)])), stream=False)
    for t in streams:
        t.join(timeout=60)
    whole = [k for k, o in outs.items() if o[0] == 200 and not o[4] and o[2] == "length"]
    c.check(len(whole) == 2, f"the draining replica's streams finished whole ({[(o[0], o[2], o[4]) for o in outs.values()]})")
    c.check(during[0] == 200, f"a request during the drain was served by the other replica ({during[0]} {during[4]})")
    try:
        code = r2.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        code = None
    c.check(code == 0, f"the drained replica exited 0 ({code})")
    c.check("draining" in r2.log_text(), "and said it was draining")
finally:
    lb.terminate()
    try:
        lb.wait(timeout=10)
    except subprocess.TimeoutExpired:
        lb.kill()
    for s in (r1, r2):
        if s.proc.poll() is None:
            s.proc.kill()
    lb_log.close()
    if c.failures:
        print("haproxy said:\n" + open(cfg_path + ".log").read()[-3000:])
    os.unlink(cfg_path)
    os.unlink(cfg_path + ".log")
c.done()
