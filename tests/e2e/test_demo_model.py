"""The bundled demo model (models/limarp-demo/): it is small, it loads, it is the default of
chat and eval-length, it chats in the LimaRP format as the character, its replies stop
before the user's turn (EOS or the stop strings, not the token limit), and the length level
decides the length: a small evaluation finds its tiny replies shorter than its huge ones."""
import json
import os
import subprocess

from common import BIN, SOURCE, Checker, run, scratch

c = Checker()
model = os.path.join(SOURCE, "models", "limarp-demo", "limarp-demo.gguf")
c.check(os.path.exists(model), f"the demo model is in the repository: {model}")
c.check(os.path.getsize(model) <= 10 * 1024 * 1024, f"at most 10 MiB: {os.path.getsize(model)} bytes")

out, _, _ = run("info", model)
c.check("general.architecture = \"llama\"" in out, "limarp info reads it as a Llama GGUF")
c.check("tokenizer.ggml.tokens" in out, "its tokenizer is inside")

# Chat without --model: the demo model is the default. Several seeded replies.
d = scratch()
chat = os.path.join(SOURCE, "models", "limarp-demo", "demo-chat.json")
saved = os.path.join(d, "chat.json")
limit = 400
script = "Hi Pip! What are you doing up here?\n/length tiny\nIs the lamp heavy?\n/length short\nWhat do you see from the top?\n/quit\n"
env = dict(os.environ)
env.pop("LIMARP_MODEL", None)
p = subprocess.run([BIN, "chat", "--load", chat, "--save", saved, "--seed", "3", "-n", str(limit), "-t", "2"],
                   input=script.encode(), capture_output=True, timeout=600, env=env)
c.check(p.returncode == 0, f"chat runs on the default model ({p.returncode}) {p.stderr.decode()[-300:]}")
out = p.stdout.decode(errors="replace")
c.check(out.count("Pip: ") >= 3, f"replies are streamed as the character: {out[:400]!r}")
messages = json.load(open(saved))["messages"]
replies = [m["text"] for m in messages if m["role"] == "char"]
c.check(len(replies) == 3, f"three replies saved: {len(replies)}")
for r in replies:
    c.check(len(r.split()) >= 1, f"a reply has words: {r!r}")
    c.check("Sam:" not in r and "### " not in r, f"the reply stops before the user's turn: {r[-120:]!r}")

# eval-length without --model also runs on it. Replies of the levels up to "long" (at most 100
# words, about 180 tokens) end by themselves (EOS or a stop string at the user's turn) most of the
# time, not at the token limit; the longer levels may rightly need more than the limit.
stdout, _, _ = run("eval-length", "--chats", os.path.join(SOURCE, "data", "roleplay"), "--every", "20",
                   "--replies", "4", "-n", str(limit), "--seed", "1", "-t", "2", "--json")
levels = json.loads(stdout.strip().splitlines()[-1])["levels"]
c.check(len(levels) == 8, "eval-length runs on the default model")
shorter = [l for l in levels if l["level"] in ("tiny", "short", "medium", "long")]
limit_share = sum(l["limit_share"] for l in shorter) / max(1, len(shorter))
c.check(len(shorter) == 4 and limit_share <= 0.25,
        f"replies stop by themselves: {100 * limit_share:.0f}% of tiny..long hit the {limit}-token limit")

# Length control from the weights, with the card's sampler: 8 replies per level at the start of
# held-out-style conversations (every 10th fixture); tiny's median words well under huge's.
stdout, _, _ = run("eval-length", "--chats", os.path.join(SOURCE, "data", "roleplay"), "--every", "10",
                   "--replies", "8", "-n", str(limit), "--seed", "2", "-t", "2", "--json")
by_level = {l["level"]: l for l in json.loads(stdout.strip().splitlines()[-1])["levels"]}
tiny, huge = by_level["tiny"]["median_words"], by_level["huge"]["median_words"]
c.check(3 * tiny < huge, f"tiny replies are much shorter than huge ones: median {tiny} vs {huge} words")
c.done()
