"""`limarp bench`: runs prompt and generation tests, reports mean ± sd, the read bandwidth and
the decode limit it implies (bandwidth / bytes read per token, counted here from the shape),
and the model's own peak memory; bad arguments and files get clear errors. Also --no-repack
and --kv-type (the quantized caches too), here and on perplexity, and the speculative-decoding
measurements: --verify's pass costs and --lookup / --draft-model on the demo model pair."""
import os

from common import Checker, last_json, run, scratch

c = Checker()
d = scratch()
model = os.path.join(d, "odd.gguf")
run("init", model, "--shape", "tiny-odd", "--type", "f32")

out, err, _ = run("bench", "-m", model, "-p", "16", "-n", "8", "-r", "2", "-t", "2", "--json")
j = last_json(out)
c.check(j["pp"] == 16 and j["tg"] == 8 and j["reps"] == 2 and j["threads"] == 2, "settings echoed in the JSON")
c.check(j["pp_tok_s"] > 0 and j["tg_tok_s"] > 0 and j["pp_sd"] >= 0 and j["tg_sd"] >= 0, "speeds and spreads measured")
c.check(err.count("pp16 rep") == 2 and err.count("tg8 rep") == 2, "one progress line per repetition")
c.check("| pp16 |" in out and "| tg8 |" in out, "llama-bench style table")

# tiny-odd: dim 48, ffn 100, 3 layers, 6 heads of 8 (2 kv heads), vocab 300, separate output, f32.
dim, ffn, layers, kv_dim, vocab = 48, 100, 3, 16, 300
per_layer = 2 * dim * dim + 2 * kv_dim * dim + 3 * ffn * dim + 2 * dim
weights_per_token = 4 * (layers * per_layer + dim + vocab * dim + dim)  # + the final norm, output, one embedding row


def kv_read(positions, element_bytes):
    """Keys and values attention reads per token at a mean of `positions` cached positions."""
    return 2 * layers * kv_dim * positions * element_bytes


read_per_token = weights_per_token + kv_read(8 // 2, 2)  # f16 cache, generation from position 0
c.check(j["bytes_per_token"] == read_per_token, f"bytes read per token {j['bytes_per_token']} == {read_per_token}")
c.check(j["bandwidth_gb_s"] > 0.5, f"read bandwidth measured ({j['bandwidth_gb_s']:.1f} GB/s)")
limit = j["bandwidth_gb_s"] * 1e9 / read_per_token
c.check(abs(j["decode_limit_tok_s"] - limit) < 1e-6 * limit, "decode limit = bandwidth / bytes per token")
# The bandwidth probe reads its own 1 GiB buffer; the peak reported is the model's, taken before it.
c.check(0 < j["peak_rss_mib"] < 512, f"peak memory is the model's own ({j['peak_rss_mib']:.0f} MiB)")

out, _, _ = run("bench", "-m", model, "-p", "0", "-n", "4", "-r", "1", "--no-bandwidth", "--json")
j = last_json(out)
c.check(j["pp_tok_s"] == 0 and j["tg_tok_s"] > 0, "-p 0 skips prompt processing")
c.check(j["bandwidth_gb_s"] == 0 and j["decode_limit_tok_s"] == 0, "--no-bandwidth skips the probe")

# Both tests at depth: the context is filled first, and the limit counts the cache's reads.
out, err, _ = run("bench", "-m", model, "-p", "8", "-n", "4", "-d", "20", "-r", "2", "--kv-type", "f32", "--json")
j = last_json(out)
c.check(j["depth"] == 20 and j["kv_type"] == "f32" and j["tg_tok_s"] > 0 and j["pp_tok_s"] > 0,
        "-d and --kv-type echoed in the JSON")
c.check("| pp8 @ d20 |" in out and "| tg4 @ d20 |" in out and err.count("filling 20 tokens") == 1,
        "the table names the depth of both tests; the context is filled once")
c.check(j["bytes_per_token"] == weights_per_token + kv_read(20 + 2, 4),
        f"bytes per token at depth 20 count the f32 cache: {j['bytes_per_token']}")
_, err, code = run("bench", "-m", model, "--kv-type", "q4_k", check=False)
c.check(code != 0 and "--kv-type" in err, "an unknown --kv-type is refused: " + err.strip().splitlines()[-1][:80])
_, err, code = run("bench", "-m", model, "--kv-type", "q8_0", check=False)
c.check(code != 0 and "blocks of 32" in err and "heads have 8" in err,
        "q8_0 needs heads of whole 32-element blocks: " + err.strip().splitlines()[-1][:100])

# Q4_0 matrices are regrouped 16 rows at a time on AVX2 and AVX-512 CPUs (every projection and the
# output of the small shape: 6 layers x 7 + 1), unless --no-repack; both layouts give the same
# perplexity.
q4 = os.path.join(d, "small-q4_0.gguf")
run("init", q4, "--shape", "small", "--type", "q4_0", "--vocab", "512")
out, _, _ = run("bench", "-m", q4, "-p", "8", "-n", "4", "-r", "1", "--no-bandwidth", "--json")
j = last_json(out)
if j["kernels"] in ("avx2", "avx512"):
    c.check(j["repacked_matrices"] == 43, f"q4_0 matrices regrouped: {j['repacked_matrices']} of 43")
else:
    print(f"note: kernels {j['kernels']}: nothing is regrouped")
out, _, _ = run("bench", "-m", q4, "-p", "8", "-n", "4", "-r", "1", "--no-bandwidth", "--no-repack", "--json")
c.check(last_json(out)["repacked_matrices"] == 0, "--no-repack keeps the stored layout")
text = os.path.join(d, "text.txt")
with open(text, "w") as f:
    f.write("Once upon a time there was a little robot who liked to count the stars. " * 12)
nll = [last_json(run("perplexity", "-m", q4, "-f", text, "--ctx", "64", "--json", *extra)[0])["mean_nll"]
       for extra in ((), ("--no-repack",))]
c.check(abs(nll[0] - nll[1]) < 1e-4, f"perplexity regrouped vs stored: mean NLL {nll[0]:.6f} vs {nll[1]:.6f}")
# The f16 cache (default) rounds keys and values: close to the f32 cache, but not the same numbers.
exact = last_json(run("perplexity", "-m", q4, "-f", text, "--ctx", "64", "--json", "--kv-type", "f32")[0])["mean_nll"]
c.check(0 < abs(nll[0] - exact) < 1e-2, f"perplexity with the f16 vs the f32 KV cache: {nll[0]:.6f} vs {exact:.6f}")

# Quantized caches on the small shape (heads of 32): bytes per row 34 (q8_0) and 18 (q4_0) per 32
# elements against f16's 64, and perplexity close to the f16 cache's.
small_kv = {}
for kv in ("f16", "q8_0", "q4_0"):
    j = last_json(run("bench", "-m", q4, "-p", "8", "-n", "4", "-r", "1", "--no-bandwidth", "--kv-type", kv, "--json")[0])
    small_kv[kv] = j["kv_cache_mib"]
    c.check(j["kv_type"] == kv and j["tg_tok_s"] > 0, f"bench with the {kv} cache")
c.check(abs(small_kv["q8_0"] / small_kv["f16"] - 34 / 64) < 1e-6 and abs(small_kv["q4_0"] / small_kv["f16"] - 18 / 64) < 1e-6,
        f"cache sizes f16 / q8_0 / q4_0: {small_kv}")
for kv, bound in (("q8_0", 5e-3), ("q4_0", 5e-2)):
    q = last_json(run("perplexity", "-m", q4, "-f", text, "--ctx", "64", "--json", "--kv-type", kv)[0])["mean_nll"]
    c.check(abs(q - nll[0]) < bound, f"perplexity with the {kv} vs the f16 cache: {q:.6f} vs {nll[0]:.6f}")

# Verification passes: k tokens with all their logits, timed next to one.
j = last_json(run("bench", "-m", q4, "-p", "0", "-n", "4", "-r", "1", "--no-bandwidth", "--verify", "2,4", "--json")[0])
c.check([v["tokens"] for v in j["verify"]] == [1, 2, 4] and j["verify"][0]["ratio"] == 1
        and all(v["ms"] > 0 for v in j["verify"]), f"--verify rows: {j['verify']}")

# Speculative decoding on the bundled pair: the same tokens as plain decoding, guesses counted.
demo = os.path.join(os.environ.get("LIMARP_SOURCE_DIR", "."), "models", "limarp-demo")
for args in (["--lookup", "4"], ["--draft-model", os.path.join(demo, "limarp-demo-draft.gguf"), "--draft-n", "3"]):
    out, _, _ = run("bench", "-m", os.path.join(demo, "limarp-demo.gguf"), "-p", "0", "-n", "48", "-r", "2",
                    "--no-bandwidth", "--json", *args)
    spec = last_json(out)["speculative"]
    c.check(spec["same_tokens"] and spec["drafted"] > 0 and 0 < spec["accepted"] <= spec["drafted"]
            and len(spec["plain_tok_s"]) == 2 and spec["median_ratio"] > 0,
            f"{args[0]}: same tokens, {spec['accepted']} of {spec['drafted']} guesses kept")
    c.check("speculative decoding," in out and "same tokens: yes" in out, f"{args[0]}: the summary line")

_, err, rc = run("bench", "-m", os.path.join(d, "missing.gguf"), check=False)
c.check(rc != 0 and "missing.gguf" in err, "a missing model file is named in the error")
truncated = os.path.join(d, "truncated.gguf")
with open(model, "rb") as f, open(truncated, "wb") as g:
    g.write(f.read()[:5000])
_, err, rc = run("bench", "-m", truncated, check=False)
c.check(rc != 0 and "truncated.gguf" in err and "cannot fit" in err,
        f"a truncated file is refused: {err.strip()[-90:]}")
_, err, rc = run("bench", "-m", model, "-r", "0", check=False)
c.check(rc != 0 and "repetitions" in err, "-r 0 is refused")
c.done()
