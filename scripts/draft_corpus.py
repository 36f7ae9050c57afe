#!/usr/bin/env python3
"""Writes what a model says, for training its draft model: speculative decoding keeps a guess
only when the model would have written it, so a draft learns best from the model's own text
(distillation on its samples). Each roleplay conversation of the fixtures' plain-text form
(scripts/fixture_text.py) is cut before each of the character's replies; the model continues
every cut with the card's sampler, and the prompt with the continuation is written out.

Each cut is continued --passes times with different seeds, --jobs at once (one thread each).

  scripts/draft_corpus.py LIMARP MODEL FIXTURES.txt OUT.txt [--tokens N] [--passes P] [--jobs J]
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys


def cuts(text):
    """Prompts ending at each character reply header, one conversation at a time."""
    for conv in text.split("### Instruction:\n")[1:]:
        conv = "### Instruction:\n" + conv
        for m in re.finditer(r"### Response: \(length = [a-z]+\)\n[^:\n]+:", conv):
            yield conv[:m.end()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("limarp")
    ap.add_argument("model")
    ap.add_argument("fixtures")
    ap.add_argument("out")
    ap.add_argument("--tokens", type=int, default=160)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    a = ap.parse_args()
    prompts = list(cuts(open(a.fixtures, encoding="utf-8").read()))
    work = [(seed, prompt[-1500:]) for seed, prompt in enumerate(prompts * a.passes)]

    def continue_one(item):
        seed, prompt = item  # the last 1500 characters: the reply depends on the recent turns
        p = subprocess.run([a.limarp, "-q", "generate", "-m", a.model, "-p", prompt, "-n", str(a.tokens), "--temp",
                            "0.8", "--top-k", "0", "--top-p", "1", "--seed", str(seed), "--json", "-t", "1"],
                           capture_output=True, text=True, check=True)
        reply = json.loads(p.stdout.strip().splitlines()[-1])
        return prompt + reply["text"] + "\n\n", len(reply["tokens"])

    tmp = a.out + ".tmp"
    written = 0
    with open(tmp, "w", encoding="utf-8") as out, concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        for i, (text, n) in enumerate(pool.map(continue_one, work)):
            out.write(text)
            written += n
            if i % 200 == 0:
                print(f"draft corpus: {i + 1}/{len(work)} continuations, {written} tokens", file=sys.stderr)
    os.replace(tmp, a.out)
    print(f"draft corpus: {len(work)} continuations, {written} generated tokens -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
