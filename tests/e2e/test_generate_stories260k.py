"""stories260K from each of its three files gives llama2.c's 200 greedy ids from BOS,
through `limarp generate --json`."""
import json
import os

from common import Checker, asset, last_json, run

reference = json.load(open(asset("stories260K/greedy_200_reference.json")))["generated_token_ids"]
tok = asset("stories260K/tok512.bin")
c = Checker()
for model, extra in [("stories260K/stories260K.bin", ["--tokenizer", tok]),
                     ("stories260K/stories260K_v1.bin", ["--tokenizer", tok]),
                     ("stories260K/stories260K.gguf", [])]:
    for threads in (1, 2):
        out, _, _ = run("generate", "-m", asset(model), *extra, "--temperature", "0", "-n", "200", "--json",
                        "-t", threads)
        j = last_json(out)
        c.check(j["prompt_tokens"] == [1], f"{model} -t {threads}: prompt is BOS")
        c.check(j["tokens"] == reference,
                f"{model} -t {threads}: 200 greedy ids match llama2.c "
                f"(first mismatch at {next((i for i, (a, b) in enumerate(zip(j['tokens'], reference)) if a != b), None)})")
        c.check(j["text"].startswith("Once upon a time"), f"{model}: text decodes")
c.done()
