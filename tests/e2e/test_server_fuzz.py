"""Bounded fuzzing of `limarp serve` (stories260K) over real sockets: first every field of every
route's JSON body (nested ones too) given each wrong type in turn, then random and mutated raw
requests (request lines, headers, framing, invalid UTF-8) and JSON bodies with fields of the
wrong type, huge and negative numbers, deep nesting and odd strings. A fixed seed
and a fixed number of requests (with a time cap as a safety net) keep it reproducible and
bounded. Every answer must be a well-formed HTTP response that is not a 500 (an internal error
is a bug: it means an exception escaped), error bodies must be JSON in valid UTF-8, and after
each batch the server must still answer /health with every slot idle and nothing queued or
running (no leaked slot). scripts/test.sh also runs this against the ASan + UBSan build.

Environment: LIMARP_FUZZ_REQUESTS (default 6000), LIMARP_FUZZ_SEED (default 21)."""
import json
import os
import random
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from common import Checker, asset
from server_common import Server, raw_exchange, status_of

MODEL = asset("stories260K/stories260K.gguf")
REQUESTS = int(os.environ.get("LIMARP_FUZZ_REQUESTS", "6000"))
SEED = int(os.environ.get("LIMARP_FUZZ_SEED", "21"))
TIME_CAP_S = 240
BATCH = 60
c = Checker()
rng = random.Random(SEED)

GET_ROUTES = ["/", "/index.html", "/health", "/props", "/slots", "/lora-adapters", "/v1/models", "/api/v1/model",
              "/api/v1/info/version", "/api/extra/version", "/api/v1/config/max_context_length",
              "/api/v1/config/max_length", "/api/extra/true_max_context_length"]
# Every POST route with a valid body to mutate.
CHAT = {"messages": [{"role": "system", "content": "Aqua's Persona: a goddess.\n\nScenario: a tavern."},
                     {"role": "user", "name": "Kazuma", "content": "Hello!"},
                     {"role": "assistant", "name": "Aqua", "content": [{"type": "text", "text": "Hi"}]}],
        "max_tokens": 4, "temperature": 0.8}
POST_ROUTES = {
    "/api/v1/generate": {"prompt": "Once upon a time", "max_length": 4, "temperature": 0.7, "top_k": 40,
                         "sampler_order": [6, 0, 1, 3, 4, 2, 5], "stop_sequence": ["\n"], "genkey": "KCPP1"},
    "/api/extra/generate/stream": {"prompt": "Once", "max_length": 4, "rep_pen": 1.1, "banned_tokens": [5],
                                   "logit_bias": {"13": -1}},
    "/api/extra/abort": {"genkey": "KCPP1"},
    "/api/extra/tokencount": {"prompt": "Once upon a time"},
    "/v1/completions": {"prompt": "Once", "max_tokens": 4, "stream": False, "stop": ["x"], "seed": 3,
                        "logit_bias": {"10": 2}, "n": 1},
    "/v1/chat/completions": dict(CHAT, stream=False),
    "/v1/internal/encode": {"text": "Once upon a time"},
    "/completion": {"prompt": "Once", "n_predict": 4, "cache_prompt": True, "id_slot": 0, "stream": False,
                    "logit_bias": [[13, -1.5], [2, False]], "dry_sequence_breakers": "[\"\\n\"]"},
    "/completions": {"prompt": [1, 100, 200], "n_predict": 4},
    "/tokenize": {"content": "Once upon a time", "add_special": True},
    "/detokenize": {"tokens": [1, 100, 200]},
    "/lora-adapters": [],
    "/api/limarp/chat": {"char": "Aqua", "user": "Kazuma", "char_persona": "A goddess.", "scenario": "A tavern.",
                         "length": "short", "max_tokens": 4, "continue": False,
                         "messages": [{"role": "user", "text": "Hi"}, {"role": "char", "text": "Hello"},
                                      {"role": "user", "text": "Go"}]},
    "/api/limarp/prompt": {"char": "Aqua", "user": "Kazuma", "length": "tiny", "examples": "",
                           "messages": [{"role": "user", "text": "Hi"}]},
    "/api/limarp/card": {"spec": "chara_card_v2", "spec_version": "2.0",
                         "data": {"name": "Aqua", "description": "a goddess", "first_mes": "Hi", "scenario": "x",
                                  "personality": "y", "mes_example": ""}},
}
# Keys any route might read, so mutations also add fields a body did not have.
EXTRA_KEYS = ["prompt", "max_length", "max_tokens", "n_predict", "max_new_tokens", "temperature", "top_k", "top_p",
              "min_p", "typical_p", "tfs", "top_a", "rep_pen", "rep_pen_range", "rep_pen_slope", "presence_penalty",
              "frequency_penalty", "mirostat", "mirostat_tau", "mirostat_eta", "dynatemp_range", "dry_multiplier",
              "dry_base", "dry_allowed_length", "dry_sequence_breakers", "xtc_threshold", "xtc_probability",
              "sampler_order", "sampler_seed", "seed", "stop", "stop_sequence", "banned_tokens", "banned_strings",
              "logit_bias", "stream", "messages", "lora", "id_slot", "slot_id", "cache_prompt", "n", "grammar",
              "json_schema", "genkey", "ignore_eos", "ban_eos_token", "singleline", "trim_unfinished_sentence",
              "content", "tokens", "text", "length", "char_name", "user_name", "examples", "char_persona",
              "user_persona", "scenario", "model", "user", "logprobs", "n_probs", "data", "spec", "char", "continue",
              "role", "first_mes", "description", "name", "spec_version", "t_max_predict_ms"]
ALLOWED = {200, 204, 400, 401, 403, 404, 405, 408, 411, 413, 415, 422, 431, 503, 505}


def odd_value(depth=0):
    """A value of any JSON type, biased towards the ones that break readers."""
    kind = rng.randrange(16)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31 - 1, 2**31, 2**32 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 10**30, -(10**30)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e308, 1e-320, 3e38, 12.0, -7.25])
    if kind == 4:
        return rng.choice(["", "x" * rng.choice([1, 100, 5000]), "\u0000", "\ud7ff\ue000", "🙂" * 50, "Aqua:", "\n\n",
                           "### Response:", "[6, 6]", "1,2,3", "-1", "null", "text", "<s>"])
    if kind == 5 and depth < 3:
        return [odd_value(depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6 and depth < 3:
        return {rng.choice(EXTRA_KEYS): odd_value(depth + 1) for _ in range(rng.randrange(4))}
    if kind == 7:
        n = rng.choice([10, 30, 60])
        return json.loads("[" * n + "]" * n)  # deep, within the parser's nesting limit or not
    if kind == 8:
        return [rng.randrange(-5, 600) for _ in range(rng.randrange(1, 8))]
    if kind == 9:
        return [[rng.choice([0, 13, 2**32 + 5, -3, "13"]), rng.choice([1, -100, True, False, "x", None])]]
    if kind == 10:
        return {str(rng.choice([0, 13, 511, 512, -1, 2**31, 2**33])): rng.choice([1, -100, False, "x", None])}
    if kind == 11:
        if rng.random() < 0.4:  # the native chat's messages
            return [{"role": rng.choice(["user", "char", "assistant", 5, None]), "text": odd_value(depth + 1)}
                    for _ in range(rng.randrange(0, 4))]
        return [{"role": rng.choice(["user", "assistant", "system", "developer", 5, None, "tool"]),
                 "content": odd_value(depth + 1) if rng.random() < 0.5 else
                 [{"type": rng.choice(["text", 5, None, "image_url"]), "text": odd_value(depth + 1)}],
                 "name": rng.choice(["Aqua", 7, None, ["x"]])} for _ in range(rng.randrange(0, 4))]
    return rng.choice([{}, [], "x", 4, 0.5, True])


def mutate_deep(v):
    """Replaces one value somewhere inside v (a nested field, a list item, or v itself)."""
    if isinstance(v, dict) and v and rng.random() < 0.75:
        k = rng.choice(list(v))
        v[k] = mutate_deep(v[k])
        return v
    if isinstance(v, list) and v and rng.random() < 0.75:
        i = rng.randrange(len(v))
        v[i] = mutate_deep(v[i])
        return v
    return odd_value()


def mutate_body(body):
    body = json.loads(json.dumps(body))
    if rng.random() < 0.05:
        return odd_value()
    for _ in range(rng.randrange(1, 4)):
        if rng.random() < 0.5 or not isinstance(body, dict):
            body = mutate_deep(body)
        else:
            body[rng.choice(EXTRA_KEYS)] = odd_value()
    # Keep generations short so the budget goes to variety, not to decoding.
    for k in ("max_length", "max_tokens", "n_predict") if isinstance(body, dict) else ():
        if k in body and isinstance(body[k], int) and body[k] > 8:
            body[k] = 8
    return body


def encode(body):
    text = json.dumps(body).encode()
    r = rng.random()
    if r < 0.05:  # invalid UTF-8 inside a string
        text = text.replace(b'"', b'"\xff\xfe', 1)
    elif r < 0.10:  # truncated
        text = text[: rng.randrange(len(text) + 1)]
    elif r < 0.13:  # a random byte changed
        if text:
            i = rng.randrange(len(text))
            text = text[:i] + bytes([rng.randrange(256)]) + text[i + 1:]
    return text


def http_post(path, payload, extra=b""):
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n").encode() + extra + b"\r\n" + payload


def raw_request():
    """A request line and headers, random or mutated from a valid one."""
    base = rng.choice([b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                       http_post("/api/extra/tokencount", b'{"prompt": "Once"}')])
    r = rng.randrange(10)
    if r == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) + b"\r\n\r\n"
    if r == 1:
        version = rng.choice([b"HTTP/\xff.\xff", b"HTTP/9.9", b"HTTP/1.1\x00", b"http/1.1", b"HTTP/1.10", b"HTTP/"])
        return b"GET /health " + version + b"\r\nHost: 127.0.0.1\r\n\r\n"
    if r == 2:
        path = rng.choice([b"/\xff\xfe", b"/health?\xc3\x28", b"/" + b"a" * rng.choice([100, 9000]), b"*", b"health",
                           b"/%00", b"/../../etc/passwd"])
        return b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    if r == 3:
        header = rng.choice([b"Host: 127.0.0.1", b"Host: \xff", b"Content-Length: -1", b"Content-Length: 99999999999999999999",
                             b"Content-Length: 1e3", b"Transfer-Encoding: chunked", b"Expect: 100-continue",
                             b"Authorization: Bearer \xff", b"Origin: http://\xff", b"Connection: \xfe", b"X\xff: 1",
                             b": empty name", b"X-Long: " + b"y" * 20000])
        i = base.index(b"\r\n") + 2
        return base[:i] + header + b"\r\n" + base[i:]
    if r == 4:  # a random byte flipped
        i = rng.randrange(len(base))
        return base[:i] + bytes([base[i] ^ (1 << rng.randrange(8))]) + base[i + 1:]
    if r == 5:  # truncated
        return base[: rng.randrange(len(base))]
    if r == 6:  # pipelined, some broken
        return b"".join(rng.choice([base.replace(b"Connection: close\r\n", b""), b"GET /x HTTP/1.1\r\n\r\n", b"\r\n"])
                        for _ in range(rng.randrange(2, 5)))
    if r == 7:
        return base.replace(b"\r\n", b"\n")
    if r == 8:
        return rng.choice([b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"HEAD / HTTP/1.0\r\n\r\n",
                           b"DELETE /slots HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"])
    return base.replace(b"GET", rng.choice([b"G\xffT", b"GET\tX", b"A" * 40, b"get"]))


def check_answer(raw, what, problems):
    """A complete answer whose status is not 5xx (but 503), with a JSON error body in UTF-8."""
    status = status_of(raw)
    if status not in ALLOWED:
        problems.append(f"{what}: status {status} {raw[:160]!r}")
        return
    if b'"code":500' in raw:
        problems.append(f"{what}: an internal error in the stream {raw[-200:]!r}")
    head, _, body = raw.partition(b"\r\n\r\n")
    if status >= 400 and b"application/json" in head and b"chunked" not in head:
        m = re.search(rb"Content-Length: (\d+)", head)
        body = body[: int(m.group(1))] if m else body
        try:
            json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            problems.append(f"{what}: error body is not JSON in UTF-8 ({e}): {body[:120]!r}")


WRONG = [None, True, -1, 2**64 - 1, -(2**63), 1e308, 0.5, "", "x" * 300, [], [1], {}, {"a": 1}, [[[]]]]


def paths(v, prefix=()):
    """Every path to a value inside v, v itself first."""
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from paths(x, prefix + (i,))


def replaced(v, path, value):
    v = json.loads(json.dumps(v))
    if not path:
        return value
    target = v
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return v


def systematic():
    """Every field of every route's body, nested ones included, given each wrong type in turn;
    then every known key added to a route with each of them."""
    out = []
    for route, body in POST_ROUTES.items():
        for path in paths(body):
            for value in WRONG:
                out.append((f"POST {route} {list(path)}={value!r:.40}", http_post(route, json.dumps(replaced(body, path, value)).encode()), "http"))
    for key in EXTRA_KEYS:
        route = rng.choice([r for r, b in POST_ROUTES.items() if isinstance(b, dict)])
        for value in WRONG:
            out.append((f"POST {route} +{key}={value!r:.40}", http_post(route, json.dumps(dict(POST_ROUTES[route], **{key: value})).encode()), "http"))
    return out


def make(i):
    """Request #i as (what, bytes, kind), drawn in order from the seeded generator so a run is
    reproducible whatever the threads do."""
    kind = rng.random()
    if kind < 0.25:
        return f"raw #{i}", raw_request(), "raw"
    if kind < 0.35:
        path = rng.choice(GET_ROUTES)
        return f"GET {path}", f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(), "http"
    path = rng.choice(list(POST_ROUTES))
    payload = encode(mutate_body(POST_ROUTES[path]))
    return f"POST {path} {payload[:200]!r}", http_post(path, payload), "http"


def send(item):
    what, data, kind = item
    problems = []
    if kind == "raw":
        raw = raw_exchange(port, data, timeout=15, shutdown_write=True)
        # Garbage may be closed without an answer; whatever is answered must be well-formed.
        if raw and not raw.startswith(b"HTTP/1.1 "):
            problems.append(f"{what}: not an HTTP answer {raw[:80]!r} to {data[:80]!r}")
        elif raw.startswith(b"HTTP/1.1 5") and not raw.startswith(b"HTTP/1.1 503") and not raw.startswith(b"HTTP/1.1 505"):
            problems.append(f"{what}: {raw[:160]!r} to {data[:120]!r}")
    else:
        check_answer(raw_exchange(port, data, timeout=60), what, problems)
    return problems


def wait_idle(s):
    """/health answers and, within a few seconds, no slot is busy and nothing is queued."""
    deadline = time.time() + 20
    while True:
        status, _ = s.get("/health")
        _, slots = s.get("/slots")
        _, props = s.get("/props")
        stats = props.get("stats", {}) if isinstance(props, dict) else {}
        busy = [x for x in slots if x.get("is_processing")] if isinstance(slots, list) else ["?"]
        if status == 200 and not busy and stats.get("queued", 0) == 0 and stats.get("running", 0) == 0:
            return True, ""
        if time.time() > deadline:
            return False, f"health {status}, busy slots {busy}, stats {stats}"
        time.sleep(0.2)


with Server("-m", MODEL, "--slots", "2", "-t", "1", "--max-tokens-limit", "8", "--json-depth", "32",
            "--max-body", "262144", "--header-timeout", "5") as s:
    port = s.port
    start = time.time()
    sent, problems, batches_ok = 0, [], 0
    fixed = systematic()
    total = len(fixed) + REQUESTS
    with ThreadPoolExecutor(max_workers=4) as pool:
        while sent < total and time.time() - start < TIME_CAP_S:
            n = min(BATCH, total - sent)
            items = [fixed[i] if i < len(fixed) else make(i) for i in range(sent, sent + n)]
            for found in pool.map(send, items):
                problems.extend(found)
            sent += n
            ok, why = wait_idle(s)
            if not ok:
                problems.append(f"after {sent} requests: {why}")
                break
            batches_ok += 1
    print(f"{sent} requests ({len(fixed)} systematic, then random) in {time.time() - start:.1f} s (seed {SEED})")
    for p in problems[:20]:
        print("  ", p)
    c.check(sent == total, f"the budget ran: {sent} of {total} requests")
    c.check(not problems, f"every answer well-formed, never a 500 ({len(problems)} problems)")
    c.check(batches_ok * BATCH >= sent - BATCH + 1 and s.proc.poll() is None,
            "after every batch the server answered /health with no slot busy and nothing queued")
    status, body = s.post("/api/v1/generate", {"prompt": "Once upon a time", "max_length": 8, "temperature": 0})
    c.check(status == 200 and body["results"][0]["text"], "the server still generates after the fuzzing")
c.check(s.proc.returncode == 0, "and shuts down cleanly")
c.done()
