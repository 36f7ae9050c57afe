"""Grammar-constrained generation through `limarp serve`, with the bundled demo model and a
random-weight Llama-2 (32000-token vocabulary), under several GBNF grammars and JSON schemas
sent the way each API carries them. Every output is checked by an independent matcher: Python's
`re` for the regular grammars, json.loads plus the schema's rules for the JSON ones. One grammar
can only be completed with tokens that cross element boundaries: the tokens that are a lone space
(the "▁" piece and the <0x20> byte, found in the GGUF file's vocabulary, read here) are banned,
so every space must come in a token that also starts the next word, spanning the space rule and
the word rule (" cat", " c")."""
import json
import os
import re
import struct

from common import Checker, SOURCE, asset
from server_common import Server

DEMO = os.path.join(SOURCE, "models", "limarp-demo", "limarp-demo.gguf")
RANDOM = asset("llama-2-tiny-random/llama-2-tiny-random.gguf")
c = Checker()

REGULAR = [
    (r'root ::= "The answer is " ("yes" | "no") "."', r"The answer is (yes|no)\."),
    ('root ::= [A-Z] [a-z]{2,8} (", " [A-Z] [a-z]{2,8}){1,3} "."  # names\n', r"[A-Z][a-z]{2,8}(, [A-Z][a-z]{2,8}){1,3}\."),
    ('root ::= "Émilie " [à-ÿ]{1,4} " ☕" [0-9]?', r"Émilie [à-ÿ]{1,4} ☕[0-9]?"),
    ('root ::= item ("\\n" item){0,3}\nitem ::= "- " ("tea" | "cake" | [a-z]{1,8}) ("!" | "")',
     r"- (tea|cake|[a-z]{1,8})!?(\n- (tea|cake|[a-z]{1,8})!?){0,3}"),
]
CROSSING = ('root ::= sp art sp noun sp verb\nsp ::= " "\nart ::= "the" | "a"\nnoun ::= "cat" | "dog" | "mat"\n'
            'verb ::= "sat" | "ran"', r" (the|a) (cat|dog|mat) (sat|ran)")
SCHEMA = {"type": "object",
          "properties": {"name": {"type": "string", "maxLength": 10}, "age": {"type": "integer"},
                         "mood": {"enum": ["happy", "sad", None]},
                         "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 1, "maxItems": 3},
                         "pet": {"anyOf": [{"type": "boolean"}, {"type": "object", "properties": {"kind": {"const": "cat"}},
                                                                  "required": ["kind"]}]}},
          "required": ["name", "age", "tags"],
          "$defs": {"tag": {"type": "string", "maxLength": 6}}}


def valid_under_schema(v):
    """The schema's rules, checked by hand (no jsonschema module needed)."""
    if not isinstance(v, dict) or not {"name", "age", "tags"} <= set(v) or not set(v) <= set(SCHEMA["properties"]):
        return False
    if not isinstance(v["name"], str) or len(v["name"]) > 10:
        return False
    if not isinstance(v["age"], int) or isinstance(v["age"], bool):
        return False
    if "mood" in v and v["mood"] not in ("happy", "sad", None):
        return False
    if not isinstance(v["tags"], list) or not 1 <= len(v["tags"]) <= 3 or any(not isinstance(t, str) or len(t) > 6 for t in v["tags"]):
        return False
    if "pet" in v and not (isinstance(v["pet"], bool) or v["pet"] == {"kind": "cat"}):
        return False
    return True


def gguf_pieces(path):
    """tokenizer.ggml.tokens and token_type from a GGUF file's metadata."""
    data = open(path, "rb").read()
    pos = 4 + 4 + 8
    n_kv = struct.unpack_from("<Q", data, pos)[0]
    pos += 8
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    fmt = {4: "<I", 5: "<i", 10: "<Q", 11: "<q"}

    def string():
        nonlocal pos
        n = struct.unpack_from("<Q", data, pos)[0]
        s = data[pos + 8:pos + 8 + n]
        pos += 8 + n
        return s

    def value(t):
        nonlocal pos
        if t == 8:
            return string()
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, pos)
            pos += 12
            return [value(et) for _ in range(n)]
        v = struct.unpack_from(fmt[t], data, pos)[0] if t in fmt else data[pos:pos + sizes[t]]
        pos += sizes[t]
        return v

    out = {}
    for _ in range(n_kv):
        key = string().decode()
        t = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        out[key] = value(t)
    return out["tokenizer.ggml.tokens"], out.get("tokenizer.ggml.token_type")


def lone_space_ids(path):
    pieces, _ = gguf_pieces(path)
    return [i for i, p in enumerate(pieces) if p in ("\u2581".encode(), b"<0x20>", b" ")]


def regular(s, name):
    for gbnf, pattern in REGULAR:
        outs = []
        for seed in range(4):
            status, body = s.post("/completion", {"prompt": "Once upon a time", "n_predict": 64, "grammar": gbnf,
                                                  "temperature": 1.0, "seed": seed})
            outs.append((status, body.get("content") if status == 200 else body, body.get("stop_type")))
        ok = all(st == 200 and stop == "eos" and re.fullmatch(pattern, text) for st, text, stop in outs)
        c.check(ok, f"{name}: {gbnf.splitlines()[0][:50]!r} -> {[t for _, t, _ in outs]}")


def crossing(s, name):
    bans = {str(i): False for i in lone_space_ids(s.model_path)}
    c.check(len(bans) >= 1, f"{name}: the lone-space tokens are found ({sorted(bans)})")
    gbnf, pattern = CROSSING
    texts = []
    for seed in range(3):
        status, body = s.post("/completion", {"prompt": "Once upon a time", "n_predict": 16, "grammar": gbnf, "n_probs": 1,
                                              "temperature": 1.0, "seed": seed, "logit_bias": bans})
        texts.append(body.get("content"))
        pieces = [e["content"] for e in body.get("completion_probabilities", [])]
        c.check(status == 200 and re.fullmatch(pattern, body["content"]) and all(len(p) > 1 for p in pieces if " " in p),
                f"{name}: with the lone space banned, {body.get('content')!r} from {pieces}")


def json_apis(s, name):
    results = []
    for seed in range(3):
        for path, body in [("/completion", {"prompt": "Profile:", "n_predict": 300, "json_schema": SCHEMA}),
                           ("/v1/completions", {"prompt": "Profile:", "max_tokens": 300,
                                                "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA}}}),
                           ("/api/v1/generate", {"prompt": "Profile:", "max_length": 300, "grammar": None,
                                                 "json_schema": SCHEMA})]:
            status, r = s.post(path, {**body, "temperature": 1.0, "seed": seed})
            text = r.get("content") if path == "/completion" else r["choices"][0]["text"] if path == "/v1/completions" \
                else r["results"][0]["text"]
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            results.append((path, text, value is not None and valid_under_schema(value)))
    bad = [(p, t) for p, t, ok in results if not ok]
    c.check(not bad, f"{name}: {len(results)} replies under the JSON schema all parse and validate ({bad[:2]})")
    # OpenAI chat: a bounded schema (always finishes), and json_object (any object; only a
    # finished reply can be whole).
    for seed in range(2):
        status, r = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Describe yourself in JSON."}],
                                                    "max_tokens": 300, "temperature": 1.0, "seed": seed,
                                                    "response_format": {"type": "json_schema",
                                                                        "json_schema": {"name": "p", "schema": SCHEMA}}})
        text = r["choices"][0]["message"]["content"]
        c.check(status == 200 and valid_under_schema(json.loads(text)), f"{name}: chat reply under the schema ({text!r})")
        status, r = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Describe yourself in JSON."}],
                                                    "max_tokens": 100, "temperature": 1.0, "seed": seed,
                                                    "response_format": {"type": "json_object"}})
        text = r["choices"][0]["message"]["content"]
        if r["choices"][0]["finish_reason"] == "stop":
            c.check(isinstance(json.loads(text), dict), f"{name}: a finished json_object chat reply is an object")
        else:
            c.check(status == 200 and text.lstrip().startswith("{"), f"{name}: a cut json_object chat reply starts an object")


def errors(s):
    for gbnf, where in [('root ::= "a"\nfoo ::= bar', "line 2, column 9"), ('root ::= "abc', "line 1, column 14"),
                        ('root ::= [b-a]', "line 1, column 11")]:
        status, body = s.post("/completion", {"prompt": "a", "grammar": gbnf})
        c.check(status == 400 and where in body["error"]["message"], f"grammar error names {where}: {body}")
    status, body = s.post("/completion", {"prompt": "a", "json_schema": {"type": "string", "pattern": "a+"}})
    c.check(status == 400 and "pattern" in body["error"]["message"], "an unsupported schema keyword is a 400 naming it")
    status, body = s.post("/completion", {"prompt": "a", "grammar": 'root ::= "x"', "json_schema": {"type": "integer"}})
    c.check(status == 400 and "send one of them" in body["error"]["message"], "two constraints at once are refused")
    status, body = s.post("/completion", {"prompt": "a", "grammar": "", "json_schema": {}, "n_predict": 2})
    c.check(status == 200, "empty grammar and schema (what clients send by default) mean none")
    status, body = s.post("/api/v1/generate", {"prompt": "a", "grammar": 'root ::= "ok"', "max_length": 8})
    c.check(status == 200 and body["results"][0]["text"] == "ok", f"KoboldCpp grammar ({body})")
    status, body = s.post("/completion", {"prompt": "a", "grammar_string": 'root ::= "fine"', "n_predict": 8})
    c.check(status == 200 and body["content"] == "fine", "grammar_string (KoboldCpp's other spelling)")


for name, model in [("demo", DEMO), ("random 32000-vocab", RANDOM)]:
    with Server("-m", model, "--ctx", "1024", "-t", "1") as server:
        server.model_path = model
        regular(server, name)
        crossing(server, name)
        json_apis(server, name)
        if model == DEMO:
            errors(server)
c.done()
