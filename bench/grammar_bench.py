#!/usr/bin/python3
"""Tokens/s of `limarp generate` with and without a grammar: none, a JSON schema (objects with
strings, where nearly every token is allowed: the expensive case for the token trie walk), and
any JSON object. Each configuration runs --runs times, the three alternated; the median decode rate is reported.

  python3 bench/grammar_bench.py --model models/limarp-demo/limarp-demo.gguf --tokens 200 --runs 5

Not a test: the numbers depend on the machine and its load (docs/performance.md)."""
import argparse
import atexit
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = {"type": "array", "items": {"type": "object", "properties": {
    "name": {"type": "string"}, "line": {"type": "string"}, "mood": {"enum": ["happy", "sad", "angry"]},
    "age": {"type": "integer"}}, "required": ["name", "line", "mood", "age"]}, "minItems": 100}


def rate(binary, model, extra, tokens, threads, seed):
    out = subprocess.run([binary, "generate", "-m", model, "-p", "Characters:", "-n", str(tokens), "--seed", str(seed),
                          "-t", str(threads), *extra], capture_output=True, text=True, check=True)
    m = re.search(r"generated (\d+) tokens in (\d+) ms", out.stderr)
    n, ms = int(m.group(1)), int(m.group(2))
    return n, (1000.0 * n / ms if ms else float("inf"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "release", "bin", "limarp"))
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "limarp-demo", "limarp-demo.gguf"))
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="limarp-grammar-bench-")
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    schema = os.path.join(work, "schema.json")
    json.dump(SCHEMA, open(schema, "w"))
    anything = os.path.join(work, "object.gbnf")
    with open(anything, "w") as f:
        f.write('root ::= object\nobject ::= "{" ws (pair ("," ws pair)*)? "}" ws\npair ::= string ":" ws value\n'
                'value ::= object | string | [0-9]+ ws | "true" ws | "false" ws\n'
                'string ::= "\\"" [^"\\\\\\x00-\\x1F]* "\\"" ws\nws ::= [ \\n]?\n')
    configs = [("no grammar", []), ("JSON schema", ["--json-schema", schema]), ("JSON object GBNF", ["--grammar", anything])]
    # Alternated run by run, so the configurations see the same machine state.
    by_config = {name: [] for name, _ in configs}
    for seed in range(a.runs):
        for name, extra in configs:
            by_config[name].append(rate(a.binary, a.model, extra, a.tokens, a.threads, seed))
    for name, _ in configs:
        results = by_config[name]
        rates = [r for _, r in results]
        print(f"{name:18s} median {statistics.median(rates):8.1f} tokens/s  (runs: {', '.join(f'{r:.0f}' for r in rates)}; "
              f"tokens per run {[n for n, _ in results]})")


if __name__ == "__main__":
    main()
