"""`limarp serve` with speculative decoding gives what plain decoding gives. Greedy replies from
the demo model must equal a plain server's token for token with prompt lookup and with a draft
model (the demo model drafting for itself keeps nearly every guess), asked one at a time, and
asked all at once on two slots so that verification rows share forward passes with the other
slot's prompt and decode steps. The concurrent round runs at LIMARP_ISA=avx2: with AMX, a pass
with 32 rows or more (a prompt chunk beside a decode step) multiplies in bf16 tiles, so on
such a CPU any server's replies depend on what they were batched with, speculative or not.
The counters in /metrics show guesses made and kept; a seeded sampled request repeats; a draft
model with another vocabulary, or both drafters at once, is refused with a message."""
import json
import os
import subprocess
import threading

from common import BIN, Checker, asset
from server_common import Server, parse_json

SRC = os.environ.get("LIMARP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(SRC, "models", "limarp-demo", "limarp-demo.gguf")
GREEDY = {"temperature": 0, "rep_pen": 1.08, "n_predict": 64}
PROMPTS = [
    "### Instruction:\nCharacter's Persona: Mira is a cheerful baker.\n\n### Input:\nTom: Hello Mira!\n\n"
    "### Response: (length = medium)\nMira:",
    "### Instruction:\nCharacter's Persona: Kai is a tired knight.\n\n### Input:\nAnna: Kai, wake up! The dragon"
    " is back.\n\n### Response: (length = long)\nKai:",
    "Once upon a time there was a little cat named Tom. Tom liked to play. One day Tom",
]
c = Checker()


def complete_all(server, concurrent, extra=None):
    out = [None] * len(PROMPTS)

    def one(i):
        status, raw = server.post("/completion", {"prompt": PROMPTS[i], **GREEDY, **(extra or {})}, timeout=300)
        body = parse_json(raw)
        out[i] = body["content"] if status == 200 else f"HTTP {status}: {raw[:200]!r}"

    if not concurrent:
        for i in range(len(PROMPTS)):
            one(i)
        return out
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def metric(server, name):
    status, raw = server.get("/metrics")
    for line in raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


AVX2 = {"LIMARP_ISA": "avx2"}
want = {}
for concurrent, env in [(False, None), (True, AVX2)]:
    with Server("-m", DEMO, "--slots", 2, "-t", 2, "--metrics", env=env) as plain:
        want[concurrent] = complete_all(plain, concurrent)
        c.check(all(not w.startswith("HTTP") for w in want[concurrent]), f"plain replies: {want[concurrent]}")

for name, args in [("lookup", ["--lookup", 6]), ("draft model", ["--draft-model", DEMO, "--draft-n", 4])]:
    for concurrent, env in [(False, None), (True, AVX2)]:
        how = "at once on two slots" if concurrent else "one at a time"
        with Server("-m", DEMO, "--slots", 2, "-t", 2, "--metrics", *args, env=env) as spec:
            got = complete_all(spec, concurrent)
            c.check(got == want[concurrent],
                    f"{name}, {how}: greedy replies equal plain decoding's\n  got  {got}\n  want {want[concurrent]}")
            drafted = metric(spec, "limarp_draft_tokens_total")
            kept = metric(spec, "limarp_draft_tokens_accepted_total")
            c.check(drafted and drafted > 0 and kept and kept > 0, f"{name}, {how}: guesses made and kept ({kept} of {drafted})")
            if name == "draft model":
                # Not every one: the draft syncs its prompt in other chunks than the slot does.
                c.check(kept >= 0.9 * drafted, f"the model drafting for itself keeps nearly every guess ({kept} of {drafted})")
            if not concurrent:
                seeded = {"prompt": PROMPTS[0], "n_predict": 48, "temperature": 0.8, "seed": 7, "cache_prompt": False}
                a = parse_json(spec.post("/completion", seeded)[1])["content"]
                b = parse_json(spec.post("/completion", seeded)[1])["content"]
                c.check(a == b and a, f"{name}: a seeded sampled reply repeats ({a!r} vs {b!r})")

# Another vocabulary (stories260K's 512 tokens): refused before serving, naming the option.
p = subprocess.run([BIN, "serve", "-m", DEMO, "--port", "0", "--draft-model", asset("stories260K/stories260K.gguf")],
                   capture_output=True, text=True, timeout=120)
c.check(p.returncode != 0 and "--draft-model" in p.stderr and "vocabulary" in p.stderr,
        f"a draft model with another vocabulary is refused: rc {p.returncode}, {p.stderr[-300:]!r}")
p = subprocess.run([BIN, "generate", "-m", DEMO, "-p", "Hi", "--lookup", "4", "--draft-model", DEMO],
                   capture_output=True, text=True, timeout=120)
c.check(p.returncode != 0 and "choose one" in p.stderr, f"--lookup with --draft-model is refused: {p.stderr[-200:]!r}")
c.done()
