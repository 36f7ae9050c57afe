"""`limarp serve` on stories260K: what SillyTavern 1.12.6 asks beyond plain generation, over real
sockets with the request bodies it sends and the fields it parses: KoboldCpp's banned-token box
(custom_token_bans), the Default (ooba) model info, the TabbyAPI model list and token routes,
llama.cpp's slot erase/save/restore (files confined to --slot-save-path), and --api-key with the
routes KoboldCpp leaves open (KoboldAI Classic sends no key)."""
import json
import os

from common import Checker, asset, scratch
from server_common import Server

MODEL = asset("stories260K/stories260K.gguf")
GREEDY = {"temperature": 0, "rep_pen": 1, "tfs": 1}
c = Checker()


def token_bans(s):
    def first_token(extra):
        status, body = s.post("/completion", {"prompt": "Once upon a time", "n_predict": 4, "n_probs": 1, **GREEDY, **extra})
        return status, body["completion_probabilities"][0]["id"]
    _, first = first_token({})
    for bans in (f"{first}, 13", [first, 13]):
        # KoboldCpp's box travels with SillyTavern's KoboldCpp type through /v1/completions.
        status, body = s.post("/v1/completions", {"prompt": "Once upon a time", "max_tokens": 4, "custom_token_bans": bans,
                                                  "logprobs": 0, **GREEDY})

        status2, other = first_token({"custom_token_bans": bans})
        c.check(status == 200 and status2 == 200 and other != first,
                f"custom_token_bans {bans!r} bans the greedy first token ({first} -> {other})")
    status, body = s.post("/v1/completions", {"prompt": "a", "max_tokens": 2, "custom_token_bans": ""})
    c.check(status == 200, "an empty custom_token_bans (SillyTavern's default) is fine")
    for path, key, value in [("/v1/completions", "custom_token_bans", "1954, 13"),
                             ("/api/v1/generate", "custom_token_bans", [700]),
                             ("/completion", "banned_tokens", [512]),
                             ("/v1/completions", "logit_bias", {"600": -100})]:
        status, body = s.post(path, {"prompt": "a", "max_tokens": 2, key: value})
        bad = "1954" if value == "1954, 13" else str(list(value)[0]) if isinstance(value, (list, dict)) else value
        c.check(status == 400 and f"{key} names token {bad}" in body["error"]["message"],
                f"{path} {key}={value!r}: 400 naming the id ({body})")
    status, body = s.post("/v1/completions", {"prompt": "a", "custom_token_bans": "12, x"})
    c.check(status == 400 and "custom_token_bans" in body["error"]["message"], "a malformed ban list is a 400")


def ooba_and_tabby(s):
    status, info = s.get("/v1/internal/model/info")
    c.check(status == 200 and info == {"model_name": "stories260K", "lora_names": []}, f"ooba model info ({info})")
    status, listed = s.get("/v1/model/list")
    c.check(status == 200 and listed["object"] == "list" and listed["data"][0]["id"] == "stories260K",
            f"Tabby /v1/model/list ({listed})")
    status, card = s.get("/v1/model")
    c.check(status == 200 and card["id"] == "stories260K" and card["parameters"]["max_seq_len"] == 1024, "Tabby /v1/model")
    want = s.post("/tokenize", {"content": "Hello there, Lily!"})[1]["tokens"]
    status, enc = s.post("/v1/token/encode", {"text": "Hello there, Lily!"})
    c.check(status == 200 and enc["tokens"] == [1] + want and enc["length"] == len(want) + 1,
            "Tabby /v1/token/encode: BOS then the ids, and length (what SillyTavern counts)")
    status, enc = s.post("/v1/token/encode", {"text": "Hello there, Lily!", "add_bos_token": False})
    c.check(enc["tokens"] == want, "add_bos_token false: no BOS")
    status, dec = s.post("/v1/token/decode", {"tokens": want})
    c.check(status == 200 and dec == {"text": "Hello there, Lily!"}, f"Tabby /v1/token/decode ({dec})")
    status, dec = s.post("/v1/token/decode", {"tokens": [5, 9999]})
    c.check(status == 400 and "tokens[1]" in dec["error"]["message"], "decode of an id outside the vocabulary is a 400")


def slots(work):
    folder = os.path.join(work, "slots")
    os.mkdir(folder)
    prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends."
    req = {"prompt": prompt, "n_predict": 8, "id_slot": 0, **GREEDY}
    with Server("-m", MODEL, "--slots", "2", "--ctx", "512", "-t", "1", "--slot-save-path", folder) as s:
        first = s.post("/completion", req)[1]
        status, saved = s.post("/slots/0?action=save", {"filename": "chat1.bin"})
        cached = first["tokens_cached"] - 1  # the last generated token is never evaluated
        c.check(status == 200 and saved["id_slot"] == 0 and saved["filename"] == "chat1.bin" and saved["n_saved"] == cached
                and saved["n_written"] == os.path.getsize(os.path.join(folder, "chat1.bin")) and "save_ms" in saved["timings"],
                f"save writes the slot's cache ({saved})")
        c.check(os.listdir(folder) == ["chat1.bin"], "save leaves no temporary file behind")
        status, erased = s.post("/slots/0?action=erase", {})
        c.check(status == 200 and erased == {"id_slot": 0, "n_erased": cached}, f"erase ({erased})")
        c.check(s.get("/slots")[1][0]["tokens_cached"] == 0, "erase empties the slot")
        status, restored = s.post("/slots/0?action=restore", {"filename": "chat1.bin"})
        c.check(status == 200 and restored["n_restored"] == cached and restored["n_read"] == saved["n_written"],
                f"restore ({restored})")
        again = s.post("/completion", req)[1]
        c.check(again["content"] == first["content"] and again["tokens_reused"] > 10,
                f"after restore the prompt is reused and the text is the same (reused {again['tokens_reused']})")
        for name in ("../escape.bin", "a/b.bin", "..", ".hidden", "x\\y", "", "..bin"):
            status, body = s.post("/slots/0?action=save", {"filename": name})
            c.check(status == 400 and "filename" in body["error"]["message"], f"filename {name!r} refused ({status})")
        c.check(sorted(os.listdir(folder)) == ["chat1.bin"] and not os.path.exists(os.path.join(work, "escape.bin")),
                "nothing written outside the folder")
        with open(os.path.join(folder, "chat1.bin"), "r+b") as f:
            f.truncate(os.path.getsize(os.path.join(folder, "chat1.bin")) - 4)
        status, body = s.post("/slots/0?action=restore", {"filename": "chat1.bin"})
        c.check(status == 400 and "bytes, expected" in body["error"]["message"], f"a truncated file is refused ({body})")
        with open(os.path.join(folder, "junk.bin"), "wb") as f:
            f.write(b"not a slot file at all, just some bytes" * 4)
        status, body = s.post("/slots/1?action=restore", {"filename": "junk.bin"})
        c.check(status == 400 and "not a limarp slot file" in body["error"]["message"], "a foreign file is refused")
        status, body = s.post("/slots/1?action=restore", {"filename": "missing.bin"})
        c.check(status == 400 and "missing.bin" in body["error"]["message"] and folder not in body["error"]["message"],
                "a missing file is a 400 that names the file, not the folder")
        status, body = s.post("/slots/7?action=erase", {})
        c.check(status == 400 and "no slot 7" in body["error"]["message"], "an unknown slot is a 400")
        status, body = s.post("/slots/0?action=fly", {})
        c.check(status == 400 and "action" in body["error"]["message"], "an unknown action is a 400")
        status, body = s.post("/slots/x?action=erase", {})
        c.check(status == 404, "a slot that is not a number is a 404")
    with Server("-m", MODEL, "-t", "1") as s:
        status, body = s.post("/slots/0?action=save", {"filename": "a.bin"})
        c.check(status == 501 and "--slot-save-path" in body["error"]["message"], "without --slot-save-path: 501")
        status, body = s.post("/slots/0?action=erase", {})
        c.check(status == 200, "erase needs no folder")


def api_key():
    # KoboldCpp's --password: the model and version probes stay open (KoboldAI Classic sends no
    # key), generation and tokenization need it.
    with Server("-m", MODEL, "-t", "1", env={"LIMARP_API_KEY": "k3y"}) as s:
        for path in ("/api/v1/model", "/api/v1/info/version", "/api/extra/version", "/api/v1/config/max_context_length",
                     "/api/extra/true_max_context_length", "/api/v1/config/max_length", "/v1/models", "/health"):
            status, _ = s.get(path)
            c.check(status == 200, f"GET {path} answers without the key")
        for path, body in (("/api/v1/generate", {"prompt": "a", "max_length": 2}),
                           ("/api/extra/generate/stream", {"prompt": "a", "max_length": 2}),
                           ("/api/extra/tokencount", {"prompt": "a"}), ("/v1/token/encode", {"text": "a"})):
            status, _ = s.post(path, body)
            c.check(status == 401, f"POST {path} needs the key")
            status, _ = s.post(path, body, headers={"Authorization": "Bearer k3y"})
            c.check(status == 200, f"POST {path} with the key")


work = scratch()
with Server("-m", MODEL, "--ctx", "1024", "-t", "1") as server:
    token_bans(server)
    ooba_and_tabby(server)
slots(work)
api_key()
c.done()
