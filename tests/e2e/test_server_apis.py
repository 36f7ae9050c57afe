"""`limarp serve` on stories260K, every endpoint over real sockets: the KoboldCpp, OpenAI,
llama.cpp and native APIs with the shapes SillyTavern expects, streams parsed the way
SillyTavern parses them, greedy text checked against llama2.c's own reference, prompts checked
against `limarp prompt`, card upload, abort by genkey and by hanging up, the busy answer,
LoRA adapters, limits, the API key, CORS and the Host check."""
import base64
import json
import os
import struct
import threading
import time
import zlib

from common import Checker, asset, run, scratch
from server_common import Server, kobold_stream_text, openai_stream_text

MODEL = asset("stories260K/stories260K.gguf")
TOK = asset("stories260K/tok512.model")
REFERENCE = json.load(open(asset("stories260K/greedy_200_reference.json")))
GREEDY = {"temperature": 0, "rep_pen": 1, "tfs": 1}  # plain argmax, as llama2.c decodes
c = Checker()


def probes(s):
    for path, want in [("/api/v1/info/version", {"result": "1.2.5"}),
                       ("/api/extra/version", {"result": "KoboldCpp", "version": "1.76"}),
                       ("/api/v1/model", {"result": "limarp/stories260K"}),
                       ("/api/v1/config/max_context_length", {"value": 1024}),
                       ("/api/extra/true_max_context_length", {"value": 1024}),
                       ("/api/v1/config/max_length", {"value": 256}),
                       ("/health", {"status": "ok"})]:
        status, body = s.get(path)
        c.check(status == 200 and body == want, f"GET {path} -> {body}")
    status, models = s.get("/v1/models")
    c.check(status == 200 and models["object"] == "list" and models["data"][0]["id"] == "stories260K"
            and models["data"][0]["object"] == "model", "GET /v1/models has data[0].id")
    status, props = s.get("/props")
    c.check(status == 200 and props["total_slots"] == 2 and props["default_generation_settings"]["n_ctx"] == 1024,
            "GET /props")
    status, slots = s.get("/slots")
    c.check(status == 200 and len(slots) == 2 and all(x["state"] == 0 for x in slots), "GET /slots: two idle slots")
    status, loras = s.get("/lora-adapters")
    c.check(status == 200 and loras == [], "GET /lora-adapters: none loaded")


def greedy_everywhere(s):
    want = REFERENCE["text"]
    status, body = s.post("/api/v1/generate", {"prompt": "", "max_length": 200, **GREEDY})
    c.check(status == 200 and body["results"][0]["text"] == want and body["results"][0]["finish_reason"] == "length",
            "/api/v1/generate greedy from BOS equals llama2.c's 200 tokens")
    status, events = s.stream("/api/extra/generate/stream", {"prompt": "", "max_length": 200, **GREEDY})
    c.check(status == 200 and all(e["event"] == "message" for e in events), "kobold stream: every event is 'message'")
    text, finish = kobold_stream_text(events)
    c.check(text == want and finish == "length", "kobold stream (parsed as SillyTavern does) equals the reference")
    status, body = s.post("/v1/completions", {"prompt": "", "max_tokens": 200, **GREEDY})
    c.check(status == 200 and body["object"] == "text_completion" and body["choices"][0]["text"] == want
            and body["usage"]["completion_tokens"] == 200 and body["usage"]["prompt_tokens"] == 1
            and body["usage"]["total_tokens"] == 201 and body["id"].startswith("cmpl-"),
            "/v1/completions greedy equals the reference; usage counted")
    status, events = s.stream("/v1/completions", {"prompt": "", "max_tokens": 200, "stream": True, **GREEDY})
    text, finish, done = openai_stream_text(events)
    c.check(text == want and finish == "length" and done and events[-1]["data"] == "[DONE]",
            "/v1/completions stream ends with [DONE] and equals the reference")
    status, body = s.post("/completions", {"prompt": "", "n_predict": 200, **GREEDY})
    c.check(status == 200 and body["content"] == want, "/completions is /completion (llama.cpp's alias)")
    status, body = s.post("/completion", {"prompt": "", "n_predict": 200, **GREEDY})
    c.check(status == 200 and body["content"] == want and body["stop"] is True and body["stop_type"] == "limit"
            and body["tokens_predicted"] == 200, "/completion greedy equals the reference")
    status, events = s.stream("/completion", {"prompt": "", "n_predict": 200, "stream": True, **GREEDY})
    pieces = [json.loads(e["data"]) for e in events]
    c.check("".join(p["content"] for p in pieces) == want and pieces[-1]["stop"] is True
            and all(p["stop"] is False for p in pieces[:-1]), "/completion stream: content pieces, then stop: true")
    # Token ids as a prompt, and stop strings.
    status, body = s.post("/completion", {"prompt": [1], "n_predict": 200, "stop": ["Lily"], **GREEDY})
    cut = want.split("Lily")[0]
    c.check(body["content"] == cut and body["stop_type"] == "word" and body["stopping_word"] == "Lily",
            f"stop string cuts the text before it ({body.get('content')!r})")
    status, body = s.post("/api/v1/generate", {"prompt": "", "max_length": 200, "stop_sequence": ["Lily"], "trim_stop": False,
                                               **GREEDY})
    c.check(body["results"][0]["text"] == cut + "Lily" and body["results"][0]["finish_reason"] == "stop",
            "kobold trim_stop false keeps the stop string")


# Request bodies with every key SillyTavern sends (KoboldCpp in "KoboldAI Classic"; the
# text-completion body for llama.cpp-style backends), written from the key lists in
# ../shared/reference/apis.md: all accepted, the sampler keys honoured (temperature 0 with the
# other samplers neutral must still give the greedy reference), the rest ignored.
ST_KOBOLD = {"prompt": "", "gui_settings": False, "sampler_order": [6, 0, 1, 3, 4, 2, 5], "max_context_length": 1024,
             "max_length": 200, "rep_pen": 1, "rep_pen_range": 320, "rep_pen_slope": 0.7, "temperature": 0, "tfs": 1,
             "top_a": 0, "top_k": 0, "top_p": 1, "min_p": 0, "typical": 1, "use_world_info": False, "singleline": False,
             "stop_sequence": ["\nKazuma:", "\n### Instruction:", "\n### Response:"], "streaming": False, "can_abort": True,
             "mirostat": 0, "mirostat_tau": 5, "mirostat_eta": 0.1, "use_default_badwordsids": False, "grammar": "",
             "grammar_retain_state": False, "sampler_seed": -1, "banned_tokens": [], "dry_multiplier": 0, "dry_base": 1.75,
             "dry_allowed_length": 2, "dry_penalty_last_n": 0, "dry_sequence_breakers": ["\n", ":", "\"", "*"],
             "xtc_threshold": 0.1, "xtc_probability": 0, "dynatemp_range": 0, "dynatemp_exponent": 1,
             "smoothing_factor": 0, "nsigma": 0, "logit_bias": {}, "trim_stop": True, "genkey": "KCPP4242",
             "use_story": False, "use_memory": False, "use_authors_note": False, "quiet": True, "images": [], "n": 1}
ST_TEXT = {"prompt": "", "model": "stories260K", "max_new_tokens": 200, "max_tokens": 200, "temperature": 0, "top_p": 1,
           "typical_p": 1, "typical": 1, "sampler_seed": -1, "min_p": 0, "repetition_penalty": 1, "frequency_penalty": 0,
           "presence_penalty": 0, "top_k": 0, "skew": 0, "min_tokens": 0, "length_penalty": 1, "early_stopping": False,
           "add_bos_token": True, "smoothing_factor": 0, "smoothing_curve": 1, "dry_allowed_length": 2, "dry_multiplier": 0,
           "dry_base": 1.75, "dry_sequence_breakers": json.dumps(["\n", ":", "\"", "*"]), "dry_penalty_last_n": 0,
           "max_tokens_second": 0, "stopping_strings": ["\nKazuma:"], "stop": ["\nKazuma:"], "truncation_length": 1024,
           "ban_eos_token": False, "skip_special_tokens": True, "top_a": 0, "tfs": 1, "mirostat_mode": 0, "mirostat_tau": 5,
           "mirostat_eta": 0.1, "custom_token_bans": "", "banned_strings": [], "api_type": "llamacpp",
           "api_server": "http://127.0.0.1:5001", "legacy_api": False, "sampler_order": [6, 0, 1, 3, 4, 2, 5],
           "samplers": ["top_k", "tfs_z", "typical_p", "top_p", "min_p", "xtc", "temperature"], "xtc_threshold": 0.1,
           "xtc_probability": 0, "nsigma": 0, "grammar_string": "", "json_schema": {}, "repeat_penalty": 1, "tfs_z": 1,
           "repeat_last_n": 0, "n_predict": 200, "num_predict": 200, "num_ctx": 1024, "mirostat": 0, "ignore_eos": False,
           "n_probs": 10, "rep_pen": 1, "rep_pen_range": 0, "penalty_alpha": 0, "temperature_last": True, "do_sample": True,
           "seed": -1, "guidance_scale": 1, "negative_prompt": "", "grammar": "", "logit_bias": [], "cache_prompt": True}


def sillytavern_bodies(s):
    want = REFERENCE["text"]
    status, body = s.post("/api/v1/generate", ST_KOBOLD)
    c.check(status == 200 and body["results"][0]["text"] == want, f"SillyTavern's KoboldCpp body -> the greedy text ({status})")
    status, events = s.stream("/api/extra/generate/stream", {**ST_KOBOLD, "streaming": True})
    c.check(status == 200 and kobold_stream_text(events) == (want, "length"), "and streamed")
    for path in ["/v1/completions", "/completion"]:
        status, body = s.post(path, ST_TEXT)
        text = body["choices"][0]["text"] if path == "/v1/completions" else body.get("content")
        c.check(status == 200 and text == want, f"SillyTavern's text-completion body on {path} -> the greedy text ({status})")
        status, events = s.stream(path, {**ST_TEXT, "stream": True})
        text, _, done = openai_stream_text(events)
        c.check(status == 200 and text == want and (done or path == "/completion"), f"and streamed from {path}")


def tokens(s):
    out, _, _ = run("tokenize", "-m", TOK, "--text", "Once upon a time, Lily", "--json", "--no-bos")
    ids = json.loads(out.strip().splitlines()[-1])
    status, body = s.post("/api/extra/tokencount", {"prompt": "Once upon a time, Lily"})
    c.check(status == 200 and body == {"value": len(ids), "ids": ids}, "/api/extra/tokencount matches limarp tokenize")
    status, body = s.post("/tokenize", {"content": "Once upon a time, Lily"})
    c.check(body == {"tokens": ids}, "/tokenize matches")
    status, body = s.post("/tokenize", {"content": "Once upon a time, Lily", "add_special": True})
    c.check(body == {"tokens": [1] + ids}, "/tokenize add_special adds BOS")
    status, body = s.post("/detokenize", {"tokens": ids})
    c.check(body == {"content": "Once upon a time, Lily"}, "/detokenize round-trips")
    status, body = s.post("/v1/internal/encode", {"text": "Once upon a time, Lily"})
    c.check(body == {"tokens": ids, "length": len(ids)}, "/v1/internal/encode matches")
    status, body = s.post("/detokenize", {"tokens": [1, 99999]})
    c.check(status == 400 and "tokens[1]" in body["error"]["message"], "/detokenize names a bad id")


CHAT = {"char": "Aqua", "user": "Kazuma", "char_persona": "A goddess of water.", "user_persona": "A NEET.",
        "scenario": "The guild hall.", "length": "long",
        "messages": [{"role": "user", "text": "We need a quest."},
                     {"role": "char", "text": "Then pick one that pays!"},
                     {"role": "user", "text": "Fine. This one."}]}


def chat(s, work):
    path = os.path.join(work, "chat.json")
    with open(path, "w") as f:
        json.dump(CHAT, f)
    out, _, _ = run("prompt", "--chat", path, "--json", "--tokenizer", TOK)
    cli = json.loads(out)
    status, body = s.post("/api/limarp/prompt", CHAT)
    c.check(status == 200 and body["prompt"] == cli["prompt"] and body["tokens"] == len(cli["tokens"]),
            "/api/limarp/prompt renders what limarp prompt renders")
    c.check("(length = long)" in body["prompt"] and "\nKazuma:" in body["stop"], "length and stop strings")
    # OpenAI chat: the same conversation as messages.
    messages = {"messages": [
        {"role": "system", "content": "Aqua's Persona: A goddess of water.\n\nKazuma's Persona: A NEET.\n\nScenario: The guild hall."},
        {"role": "user", "name": "Kazuma", "content": "We need a quest."},
        {"role": "assistant", "name": "Aqua", "content": "Then pick one that pays!"},
        {"role": "user", "name": "Kazuma", "content": "Fine. This one."}], "length": "long"}
    req = {**messages, "max_tokens": 40, "seed": 7, "trim_unfinished_sentence": False, "unknown": {"x": [1, 2]}}
    status, body = s.post("/v1/chat/completions", req)
    c.check(status == 200 and body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
            and body["usage"]["prompt_tokens"] == len(cli["tokens"]),
            f"/v1/chat/completions renders the LimaRP prompt ({body.get('usage')})")
    status, events = s.stream("/v1/chat/completions", {**req, "stream": True})
    text, finish, done = openai_stream_text(events, chat=True)
    first = json.loads(events[0]["data"])
    c.check(done and first["choices"][0]["delta"].get("role") == "assistant" and first["object"] == "chat.completion.chunk",
            "chat stream: role delta first, [DONE] last")
    c.check(text == body["choices"][0]["message"]["content"] and finish == body["choices"][0]["finish_reason"],
            "chat stream text equals the non-streamed reply (same seed)")
    # Native chat, streamed and not, and the second turn reusing the cache.
    native = {**CHAT, "max_tokens": 30, "seed": 3, "trim_unfinished_sentence": False}
    status, body = s.post("/api/limarp/chat", native)
    c.check(status == 200 and body["usage"]["prompt_tokens"] == len(cli["tokens"]) and "timings" in body,
            "/api/limarp/chat answers with usage and timings")
    status, events = s.stream("/api/limarp/chat", {**native, "stream": True})
    datas = [json.loads(e["data"]) for e in events]
    c.check(datas[-1].get("done") is True and "".join(d["text"] for d in datas[:-1]) == datas[-1]["text"] == body["text"],
            "native stream: text pieces, then done with the whole reply")
    turn2 = {**native, "messages": CHAT["messages"] + [{"role": "char", "text": body["text"] or "Hm."},
                                                       {"role": "user", "text": "Let's go."}]}
    status, again = s.post("/api/limarp/chat", turn2)
    # Only what changed is evaluated: the cached prompt and the new one part where the previous
    # open header lost its length modifier (docs/chat.md); everything before stays cached.
    ids1 = s.post("/api/limarp/prompt", native)[1]["ids"]
    ids2 = s.post("/api/limarp/prompt", turn2)[1]["ids"]
    common = next(i for i, (a, b) in enumerate(zip(ids1, ids2)) if a != b)
    c.check(again["prompt"]["reused"] == common and again["prompt"]["evaluated"] == len(ids2) - common
            and ids1 == cli["tokens"], f"next turn evaluates only the tokens after the common prefix ({again['prompt']}, {common})")
    status, cont = s.post("/api/limarp/chat", {**native, "messages": CHAT["messages"] + [{"role": "char", "text": "Well,"}],
                                               "continue": True})
    c.check(status == 200 and not cont["text"].startswith("Well"), "continue: the reply continues the open message")


def png_card(card):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    text = b"chara\x00" + base64.b64encode(json.dumps(card).encode())
    idat = zlib.compress(b"\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", text) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def card(s):
    v2 = {"spec": "chara_card_v2", "spec_version": "2.0",
          "data": {"name": "Aqua", "description": "{{char}} is a goddess who teases {{user}}.", "personality": "vain",
                   "scenario": "{{user}} meets {{char}}.", "first_mes": "Hello, {{user}}!", "mes_example": ""}}
    status, raw, _ = s.request("POST", "/api/limarp/card", png_card(v2), {"Content-Type": "image/png"})
    body = json.loads(raw)
    c.check(status == 200 and body["chat"]["char"] == "Aqua"
            and body["chat"]["char_persona"] == "Aqua is a goddess who teases {{user}}.\nPersonality: vain"
            and body["chat"]["messages"] == [{"role": "char", "text": "Hello, {{user}}!"}],
            f"/api/limarp/card reads a PNG card, keeping {{{{user}}}} ({body.get('chat')})")
    status, raw, _ = s.request("POST", "/api/limarp/card", json.dumps(v2))
    c.check(status == 200 and json.loads(raw)["card"]["name"] == "Aqua", "/api/limarp/card reads a JSON card")
    broken = png_card(v2)
    status, raw, _ = s.request("POST", "/api/limarp/card", broken[:60])
    c.check(status == 400 and "card" in json.loads(raw)["error"]["message"], "a truncated card is a 400 naming it")


def errors(s):
    for path, body, field in [("/api/v1/generate", {"prompt": 5}, "prompt"),
                              ("/api/v1/generate", {"prompt": "x", "max_length": "9"}, "max_length"),
                              ("/api/v1/generate", {"prompt": "x", "temperature": [1]}, "temperature"),
                              ("/api/v1/generate", {"prompt": "x", "stop_sequence": "a"}, None),
                              ("/api/extra/generate/stream", {"prompt": "x", "top_k": "5"}, "top_k"),
                              ("/v1/completions", {"prompt": "x", "stream": "yes"}, "stream"),
                              ("/v1/completions", {"prompt": "x", "stop": 3}, "stop"),
                              ("/v1/chat/completions", {"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
                              ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "length": 3}, "length"),
                              ("/completion", {"prompt": "x", "n_predict": 1.5}, "n_predict"),
                              ("/completion", {"prompt": "x", "lora": [{"id": 0, "scale": 1}]}, "lora[0].id"),
                              ("/api/limarp/chat", {"messages": [{"role": "narrator", "text": "x"}]}, "messages[0].role"),
                              ("/api/extra/tokencount", {"prompt": 1}, "prompt"),
                              ("/tokenize", {"content": {}}, "content")]:
        status, answer = s.post(path, body)
        if field is None:
            c.check(status == 200, f"{path} {body}: a single string is a valid stop list")
            continue
        c.check(status == 400 and field in answer["error"]["message"] and answer["error"]["code"] == 400,
                f"{path} {json.dumps(body)} -> 400 naming {field} ({answer})")
    status, answer = s.post("/api/v1/generate", "{not json")
    c.check(status == 400 and "invalid JSON" in answer["error"]["message"], "invalid JSON -> 400")
    status, answer = s.post("/api/v1/generate", "[" * 100 + "]" * 100)
    c.check(status == 400 and "deeper" in answer["error"]["message"], "deep JSON -> 400")
    status, answer = s.get("/no/such/route")
    c.check(status == 404 and answer["error"]["code"] == 404, "unknown route -> 404")
    status, raw, r = s.request("GET", "/api/v1/generate")
    c.check(status == 405 and r.getheader("Allow") == "POST", "wrong method -> 405 with Allow")
    for path in ["/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/../../etc/passwd", "/index.html%00"]:
        status, raw, _ = s.request("GET", path)
        c.check(status == 404 and b"root:" not in raw, f"GET {path} -> 404, no file")
    status, raw, r = s.request("GET", "/")
    c.check(status == 200 and b"limarp" in raw and r.getheader("Content-Type").startswith("text/html"), "GET / serves the page")


def abort_disconnect_busy():
    # A reply that would run for seconds even on a fast machine (the tiny model writes 1000 tokens in
    # a fraction of one), so each way of stopping it is seen to cut it short.
    with Server("-m", MODEL, "--slots", "1", "--queue", "0", "-t", "1", "-c", "16384", "--max-tokens-limit", "8000") as s:
        endless = {"prompt": "Once upon a time", "max_length": 8000, "use_default_badwordsids": True, "genkey": "KEY1"}
        result = {}

        def first_stream():
            result["a"] = s.stream("/api/extra/generate/stream", endless, on_event=lambda e: started.set())

        started = threading.Event()
        t = threading.Thread(target=first_stream)
        t.start()
        started.wait(10)
        status, busy = s.post("/api/v1/generate", {"prompt": "x", "max_length": 5})
        c.check(status == 503 and busy["detail"]["msg"] == "Server is busy; please try again later."
                and busy["detail"]["type"] == "service_unavailable", "a full server answers 503 in KoboldCpp's shape")
        status, body = s.post("/api/extra/abort", {"genkey": "nobody"})
        c.check(body == {"success": "false", "done": "true"}, "abort with an unknown genkey aborts nothing")
        status, body = s.post("/api/extra/abort", {"genkey": "KEY1"})
        c.check(status == 200 and body == {"success": "true", "done": "true"}, "abort by genkey")
        t.join(30)
        text, finish = kobold_stream_text(result["a"][1])
        c.check(finish == "stop" and 0 < len(text) and s.get("/props")[1]["stats"]["tokens_generated"] < 4000,
                "the aborted stream ends early with finish_reason stop")
        # Hang up after the first event: the generation stops too.
        before = s.get("/props")[1]["stats"]["tokens_generated"]
        s.stream("/api/extra/generate/stream", {**endless, "genkey": "KEY2"}, on_event=lambda e: False)
        deadline = time.time() + 10
        while time.time() < deadline and s.get("/slots")[1][0]["state"] != 0:
            time.sleep(0.02)
        generated = s.get("/props")[1]["stats"]["tokens_generated"] - before
        c.check(generated < 4000, f"a client that hangs up stops its generation ({generated} tokens)")
        # Non-streaming request abandoned mid-way.
        before = s.get("/props")[1]["stats"]["tokens_generated"]
        try:
            s.post("/api/v1/generate", {**endless, "genkey": "KEY3"}, timeout=0.3)
        except OSError:
            pass
        deadline = time.time() + 10
        while time.time() < deadline and s.get("/slots")[1][0]["state"] != 0:
            time.sleep(0.02)
        generated = s.get("/props")[1]["stats"]["tokens_generated"] - before
        c.check(generated < 4000, f"an abandoned non-streaming request stops too ({generated} tokens)")
    c.check(s.proc.returncode == 0, "SIGTERM shuts the server down cleanly")


def limits():
    with Server("-m", MODEL, "--max-tokens-limit", "5", "--timeout", "0.05", "-t", "1") as s:
        status, body = s.post("/api/v1/generate", {"prompt": "Once", "max_length": 100, **GREEDY})
        c.check(len(s.post("/tokenize", {"content": body["results"][0]["text"]})[1]["tokens"]) <= 6,
                "--max-tokens-limit clamps a larger request")
    # Replies of 4000 tokens (seconds of work for the tiny model) in a context that holds them.
    with Server("-m", MODEL, "--timeout", "0.05", "--max-tokens-limit", "4000", "-c", "16384", "-t", "1") as s:
        status, body = s.post("/api/limarp/chat", {"messages": [{"role": "user", "text": "Hi"}], "max_tokens": 4000,
                                                   "ignore_eos": True, "stop": [], "trim_unfinished_sentence": False})
        c.check(status == 200 and body["stop_reason"] == "time" and body["finish_reason"] == "length"
                and body["usage"]["completion_tokens"] < 4000, f"--timeout ends a request ({body.get('stop_reason')})")
    with Server("-m", MODEL, "--max-tokens-limit", "4000", "-c", "16384", "-t", "1") as s:
        status, body = s.post("/api/limarp/chat", {"messages": [{"role": "user", "text": "Hi"}], "max_tokens": 4000,
                                                   "ignore_eos": True, "stop": [], "trim_unfinished_sentence": False,
                                                   "t_max_predict_ms": 1})
        c.check(status == 200 and body["stop_reason"] == "time" and body["usage"]["completion_tokens"] < 4000,
                f"t_max_predict_ms shortens one request's time ({body.get('stop_reason')})")


def security():
    with Server("-m", MODEL, "--cors", "http://st.example:8000", "-t", "1", env={"LIMARP_API_KEY": "k3y"}) as s:
        # KoboldCpp's --password: its model/version probes stay open (KoboldAI Classic sends no
        # key), as do /v1/models and /health (open in KoboldCpp and llama.cpp); everything that
        # generates, tokenizes, changes state or shows the server's internals needs the key.
        routes = [("GET", "/props"), ("GET", "/slots"), ("GET", "/lora-adapters"), ("POST", "/api/v1/generate"),
                  ("POST", "/api/extra/generate/stream"), ("POST", "/api/extra/abort"), ("POST", "/api/extra/tokencount"),
                  ("POST", "/v1/completions"), ("POST", "/v1/chat/completions"), ("POST", "/completion"),
                  ("POST", "/tokenize"), ("POST", "/detokenize"), ("POST", "/lora-adapters"), ("POST", "/api/limarp/chat"),
                  ("POST", "/api/limarp/prompt"), ("POST", "/api/limarp/card"), ("GET", "/v1/internal/model/info"),
                  ("GET", "/v1/model/list"), ("GET", "/v1/model"), ("POST", "/v1/token/encode"),
                  ("POST", "/v1/token/decode"), ("POST", "/slots/0?action=erase"), ("POST", "/v1/internal/encode")]
        refused = [p for m, p in routes if s.request(m, p, "{}" if m == "POST" else None)[0] != 401]
        c.check(not refused, f"every generating, tokenizing and state route needs the key ({refused})")
        open_routes = ["/health", "/v1/models", "/api/v1/model", "/api/v1/info/version", "/api/extra/version",
                       "/api/v1/config/max_context_length", "/api/extra/true_max_context_length", "/api/v1/config/max_length"]
        closed = [p for p in open_routes if s.request("GET", p)[0] != 200]
        c.check(not closed, f"KoboldCpp's probes, /v1/models and /health answer without the key ({closed})")
        status, _, _ = s.request("GET", "/v1/models", headers={"Authorization": "Bearer k3y"})
        c.check(status == 200, "with the key: 200")
        status, _, _ = s.request("GET", "/", headers={})
        c.check(status == 200, "the page itself needs no key (it asks for one)")
        status, _, r = s.request("OPTIONS", "/v1/completions", headers={"Origin": "http://st.example:8000",
                                                                        "Access-Control-Request-Method": "POST"})
        c.check(status == 204 and r.getheader("Access-Control-Allow-Origin") == "http://st.example:8000", "CORS preflight")
        status, _, _ = s.request("GET", "/v1/models", headers={"Origin": "http://evil.example", "Authorization": "Bearer k3y"})
        c.check(status == 403, "another origin is refused")
        status, _, _ = s.request("GET", "/v1/models", headers={"Host": "evil.example:5001", "Authorization": "Bearer k3y"})
        c.check(status == 403, "a foreign Host header is refused (DNS rebinding)")


def lora(work):
    adapter = os.path.join(work, "random-lora.gguf")
    run("init-lora", "-m", MODEL, adapter, "--rank", "4", "--type", "f32", "--seed", "3")
    with Server("-m", MODEL, "--lora", adapter + ":0.5", "--slots", "2", "-t", "1") as s:
        status, listed = s.get("/lora-adapters")
        c.check(listed == [{"id": 0, "path": adapter, "scale": 0.5}], f"GET /lora-adapters lists the adapter ({listed})")
        req = {"prompt": "Once upon a time", "n_predict": 40, **GREEDY}
        base = s.post("/completion", {**req, "lora": [{"id": 0, "scale": 0}]})[1]["content"]
        strong = s.post("/completion", {**req, "lora": [{"id": 0, "scale": 8}]})[1]["content"]
        c.check(base != strong, "per-request lora scale changes the output")
        status, body = s.post("/lora-adapters", [{"id": 0, "scale": 0}])
        c.check(status == 200 and body == {"success": True} and s.get("/lora-adapters")[1][0]["scale"] == 0,
                "POST /lora-adapters sets the global scale")
        c.check(s.post("/completion", req)[1]["content"] == base, "global scale 0 gives the base model's text")
        status, body = s.post("/lora-adapters", [{"id": 5, "scale": 1}])
        c.check(status == 400 and "id 5" in body["error"]["message"], "an unknown adapter id is a 400")


def help_text():
    out, _, _ = run("serve", "--help")
    c.check(all(w in out for w in ["--slots", "--api-key", "--lora", "/api/extra/generate/stream", "/v1/chat/completions",
                                   "/lora-adapters", "SillyTavern", "docs/server.md"]),
            "limarp serve --help lists the options, the routes and how to connect SillyTavern")


def rope_context():
    # Context accounting with RoPE scaling: linear x2 on the 2048-token model and no --ctx gives
    # every API 4096 tokens; --ctx 8192 with nothing asked scales NTK-aware and says so.
    with Server("-m", MODEL, "--rope-scaling", "linear", "--rope-scale", "2", "-t", "1") as s:
        for path in ("/api/v1/config/max_context_length", "/api/extra/true_max_context_length"):
            status, body = s.get(path)
            c.check(status == 200 and body == {"value": 4096}, f"linear x2: GET {path} -> {body}")
        status, props = s.get("/props")
        c.check(status == 200 and props["default_generation_settings"]["n_ctx"] == 4096, "linear x2: /props n_ctx 4096")
    with Server("-m", MODEL, "--ctx", "8192", "-t", "1") as s:
        status, body = s.get("/api/extra/true_max_context_length")
        c.check(body == {"value": 8192}, "--ctx 8192: true_max_context_length 8192")
    c.check("scaling ntk x4 (automatic" in "".join(s.log), "--ctx 4x the trained context: automatic NTK-aware scaling, logged")


help_text()
rope_context()
work = scratch()
with Server("-m", MODEL, "--slots", "2", "--ctx", "1024", "-t", "1") as server:
    probes(server)
    greedy_everywhere(server)
    sillytavern_bodies(server)
    tokens(server)
    chat(server, work)
    card(server)
    errors(server)
abort_disconnect_busy()
limits()
security()
lora(work)
c.done()
