"""Token probabilities of `limarp serve` on stories260K against an independent softmax: a numpy
forward pass of the llama2.c checkpoint (written here from the llama2.c file layout, sharing
nothing with limarp) gives the logits at every generated position, and each API's reported
probabilities must match the distribution the token was drawn from after the sampler chain:
  greedy (temperature 0, no penalties)  softmax(logits)
  temperature 0.7, top_k 3              softmax(logits / 0.7) over the 3 most likely, 0 elsewhere
Then the shapes: llama.cpp completion_probabilities (streamed and not, as SillyTavern reads
them), OpenAI completions logprobs, OpenAI chat logprobs.content, KoboldCpp logprobs."""
import json
import math
import struct

import numpy as np

from common import Checker, asset
from server_common import Server

MODEL = asset("stories260K/stories260K.gguf")
CHECKPOINT = asset("stories260K/stories260K.bin")
GREEDY = {"temperature": 0, "rep_pen": 1, "tfs": 1}
PROMPT = "Once upon a time, there was a"
c = Checker()


def load_llama2c(path):
    raw = open(path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("7i", raw[:28])
    w = np.frombuffer(raw, dtype=np.float32, offset=28)
    head = dim // heads
    kv = head * kv_heads
    shapes = [("emb", (abs(vocab), dim)), ("rms_att", (layers, dim)), ("wq", (layers, dim, dim)),
              ("wk", (layers, kv, dim)), ("wv", (layers, kv, dim)), ("wo", (layers, dim, dim)),
              ("rms_ffn", (layers, dim)), ("w1", (layers, hidden, dim)), ("w2", (layers, dim, hidden)),
              ("w3", (layers, hidden, dim)), ("rms_final", (dim,))]
    m, pos = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape))
        m[name] = w[pos:pos + n].reshape(shape).astype(np.float64)
        pos += n
    pos += seq * head  # the file's precomputed rotary tables (cos and sin halves), unused
    m["cls"] = m["emb"] if vocab > 0 else w[pos:pos + abs(vocab) * dim].reshape(abs(vocab), dim).astype(np.float64)
    m.update(dim=dim, layers=layers, heads=heads, kv_heads=kv_heads, head=head)
    return m


def rmsnorm(x, g):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-5) * g


def rope(x, head):
    # llama2.c rotates adjacent pairs (2i, 2i+1) of each head by pos * 10000^(-2i/head).
    t, n = x.shape[0], x.shape[1]
    i = np.arange(0, head, 2)
    ang = np.arange(t)[:, None] * (10000.0 ** (-i / head))[None, :]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x = x.reshape(t, n, head // 2, 2)
    a, b = x[..., 0], x[..., 1]
    return np.stack([a * cos - b * sin, a * sin + b * cos], axis=-1).reshape(t, n, head)


def logits_of(m, tokens):
    t = len(tokens)
    x = m["emb"][tokens]
    h, nh, nkv = m["head"], m["heads"], m["kv_heads"]
    mask = np.triu(np.full((t, t), -np.inf), 1)
    for l in range(m["layers"]):
        xn = rmsnorm(x, m["rms_att"][l])
        q = rope((xn @ m["wq"][l].T).reshape(t, nh, h), h)
        k = rope((xn @ m["wk"][l].T).reshape(t, nkv, h), h)
        v = (xn @ m["wv"][l].T).reshape(t, nkv, h)
        k, v = np.repeat(k, nh // nkv, axis=1), np.repeat(v, nh // nkv, axis=1)
        s = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(h) + mask
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        x = x + np.einsum("hqk,khd->qhd", p, v).reshape(t, -1) @ m["wo"][l].T
        xn = rmsnorm(x, m["rms_ffn"][l])
        a, b = xn @ m["w1"][l].T, xn @ m["w3"][l].T
        x = x + (a / (1 + np.exp(-a)) * b) @ m["w2"][l].T
    return rmsnorm(x, m["rms_final"]) @ m["cls"].T


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def reference_distributions(m, prompt_ids, chosen, transform):
    logits = logits_of(m, prompt_ids + chosen[:-1])[len(prompt_ids) - 1:]
    return [transform(row) for row in logits]


def top_k_temperature(k, temp):
    def f(row):
        keep = np.argsort(-row, kind="stable")[:k]
        p = np.zeros_like(row)
        p[keep] = softmax(row[keep] / temp)
        return p
    return f


def compare(name, entries, want, top):
    worst = 0.0
    ok = len(entries) == len(want)
    for e, p in zip(entries, want):
        worst = max(worst, abs(e["prob"] - p[e["id"]]))
        order = sorted(range(len(p)), key=lambda i: (-p[i], i))
        listed = [x for x in order if p[x] > 0][:top]
        ok &= [x["id"] for x in e["probs"]][:len(listed)] == listed[:len(e["probs"])] or \
            all(abs(x["prob"] - p[x["id"]]) < 2e-3 for x in e["probs"])
        for x in e["probs"]:
            worst = max(worst, abs(x["prob"] - p[x["id"]]))
        ok &= len(e["probs"]) == min(top, len(listed))
    c.check(ok and worst < 2e-3, f"{name}: {len(entries)} tokens, max |p - reference| = {worst:.2e}")


def against_reference(s, m):
    prompt_ids = s.post("/tokenize", {"content": PROMPT, "add_special": True})[1]["tokens"]
    status, body = s.post("/completion", {"prompt": PROMPT, "n_predict": 12, "n_probs": 5, **GREEDY})
    entries = body["completion_probabilities"]
    chosen = [e["id"] for e in entries]
    c.check(status == 200 and len(entries) == body["tokens_predicted"] == 12, "n_probs: one entry per generated token")
    compare("greedy vs softmax(logits)", entries, reference_distributions(m, prompt_ids, chosen, softmax), 5)
    c.check("".join(e["content"] for e in entries) == body["content"], "the entries' texts spell the completion")
    req = {"prompt": PROMPT, "n_predict": 12, "n_probs": 5, "temperature": 0.7, "top_k": 3, "rep_pen": 1, "tfs": 1,
           "seed": 11}
    entries = s.post("/completion", req)[1]["completion_probabilities"]
    want = reference_distributions(m, prompt_ids, [e["id"] for e in entries], top_k_temperature(3, 0.7))
    compare("temperature 0.7 + top_k 3 vs its truncated softmax", entries, want, 5)
    c.check(all(len(e["probs"]) <= 3 for e in entries), "tokens removed by top_k are not listed")
    # Streamed: SillyTavern reads data.completion_probabilities[0].probs as [tok_str, prob] pairs.
    status, events = s.stream("/completion", {**req, "stream": True})
    pieces = [json.loads(e["data"]) for e in events]
    streamed = [p for x in pieces if not x["stop"] for p in x.get("completion_probabilities", [])]
    same = [(a["id"], [x["id"] for x in a["probs"]]) for a in streamed] == [(a["id"], [x["id"] for x in a["probs"]]) for a in entries]
    c.check(same and all(abs(a["prob"] - b["prob"]) < 1e-5 for a, b in zip(streamed, entries)) and all(x.get("completion_probabilities") for x in pieces if not x["stop"] and x["content"])
            and "completion_probabilities" not in pieces[-1],
            "streamed: each piece carries its tokens' probabilities, equal to the whole answer's")
    return prompt_ids


def shapes(s):
    base = s.post("/completion", {"prompt": PROMPT, "n_predict": 10, "n_probs": 3, **GREEDY})[1]
    lp = [math.log(e["prob"]) for e in base["completion_probabilities"]]
    status, body = s.post("/v1/completions", {"prompt": PROMPT, "max_tokens": 10, "logprobs": 3, **GREEDY})
    l = body["choices"][0]["logprobs"]
    c.check(status == 200 and len(l["tokens"]) == len(l["token_logprobs"]) == len(l["top_logprobs"]) == len(l["text_offset"]) == 10
            and "".join(l["tokens"]) == body["choices"][0]["text"]
            and all(abs(a - b) < 1e-6 for a, b in zip(l["token_logprobs"], lp))
            and all(len(t) <= 3 and max(t.values()) >= lp_i - 1e-9 for t, lp_i in zip(l["top_logprobs"], l["token_logprobs"]))
            and l["text_offset"] == [sum(len(t) for t in l["tokens"][:i]) for i in range(10)],
            "OpenAI completions: tokens, token_logprobs (= ln of llama.cpp's), top_logprobs, text_offset")
    status, events = s.stream("/v1/completions", {"prompt": PROMPT, "max_tokens": 10, "logprobs": 3, "stream": True, **GREEDY})
    chunks = [json.loads(e["data"]) for e in events if e["data"] != "[DONE]"]
    got = {"tokens": [], "token_logprobs": [], "text_offset": []}
    for ch in chunks:
        x = ch["choices"][0].get("logprobs") or {}
        for k in got:
            got[k] += x.get(k, [])
    c.check(got["tokens"] == l["tokens"] and got["text_offset"] == l["text_offset"]
            and all(abs(a - b) < 1e-9 for a, b in zip(got["token_logprobs"], l["token_logprobs"])),
            "OpenAI completions streamed: the chunks' logprobs add up to the whole answer's")
    # SillyTavern's parse of a streamed chunk: Object.entries(logprobs.top_logprobs[0]).
    c.check(all(isinstance(ch["choices"][0]["logprobs"]["top_logprobs"][0], dict) for ch in chunks
                if ch["choices"][0]["text"]), "each streamed text chunk has top_logprobs[0] as a dict")

    chat = {"messages": [{"role": "user", "content": "Tell me a story."}], "max_tokens": 8, "logprobs": True,
            "top_logprobs": 2, **GREEDY}
    status, body = s.post("/v1/chat/completions", chat)
    content = body["choices"][0]["logprobs"]["content"]
    c.check(status == 200 and len(content) == body["usage"]["completion_tokens"]
            and all(set(e) == {"token", "logprob", "bytes", "top_logprobs"} and len(e["top_logprobs"]) == 2
                    and bytes(e["bytes"]).decode("utf-8", "replace") == e["token"]
                    and e["top_logprobs"][0]["logprob"] >= e["logprob"] - 1e-9 for e in content),
            "OpenAI chat: logprobs.content with token, logprob, bytes, top_logprobs")
    status, events = s.stream("/v1/chat/completions", {**chat, "stream": True})
    chunks = [json.loads(e["data"]) for e in events if e["data"] != "[DONE]"]
    streamed = [e for ch in chunks for e in ((ch["choices"][0].get("logprobs") or {}).get("content") or [])]
    # The second request reuses the cached prompt, so its first logits may differ in the last bits.
    c.check([e["token"] for e in streamed] == [e["token"] for e in content]
            and all(abs(a["logprob"] - b["logprob"]) < 1e-5 for a, b in zip(streamed, content)),
            "OpenAI chat streamed: logprobs.content per chunk, equal to the whole answer's")
    status, body = s.post("/v1/chat/completions", {**chat, "logprobs": False})
    c.check(body["choices"][0]["logprobs"] is None, "logprobs false: null")

    status, body = s.post("/api/v1/generate", {"prompt": PROMPT, "max_length": 6, "logprobs": True, **GREEDY})
    content = body["results"][0]["logprobs"]["content"]
    c.check(status == 200 and len(content) == 6 and all(len(e["top_logprobs"]) == 5 for e in content)
            and all(abs(e["logprob"] - a) < 1e-6 for e, a in zip(content, lp)),
            "KoboldCpp: results[0].logprobs.content, 5 alternatives per token")
    for bad in ({"n_probs": -1}, {"n_probs": 1000}, {"n_probs": "5"}):
        status, body = s.post("/completion", {"prompt": "a", **bad})
        c.check(status == 400 and "n_probs" in body["error"]["message"], f"{bad} is a 400")
    status, body = s.post("/v1/completions", {"prompt": "a", "logprobs": 101})
    c.check(status == 400 and "logprobs" in body["error"]["message"], "logprobs 101 is a 400")


m = load_llama2c(CHECKPOINT)
with Server("-m", MODEL, "--ctx", "512", "-t", "1") as server:
    against_reference(server, m)
    shapes(server)
c.done()
