"""`--device vulkan` from the command line: `limarp devices` lists the Vulkan device, and greedy
generation on it, whole or split with --gpu-layers, writes the same 200 tokens as the CPU for
stories260K and the bundled demo model
(the CPU pinned to its AVX2 kernels, whose integer sums the shaders follow; its AVX-512 kernels
round the demo model's q8_0 activations differently and flip a near-tie early). Runs on lavapipe
in CI; skips (exit 77) where no Vulkan device exists, except under CI=true in a Vulkan build."""
import json
import os
import subprocess
import sys

from common import Checker, asset, run

BIN = os.environ["LIMARP_BIN"]
SOURCE = os.environ["LIMARP_SOURCE_DIR"]


def greedy_tokens(model, device, prompt, *extra):
    env = dict(os.environ, LIMARP_ISA="avx2")
    out = subprocess.run([BIN, "generate", "-m", model, "--device", device, "-p", prompt, "-n", "200",
                          "--temperature", "0", "--json", *extra], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])["tokens"], out.stderr


def main():
    c = Checker()
    listing = json.loads(run("devices", "--json")[0])
    vulkan = [d for d in listing["devices"] if d["id"].startswith("vulkan") and d["usable"]]
    if not vulkan:
        if os.environ.get("CI") == "true" and listing["vulkan_built"]:
            print("FAIL CI=true but no usable Vulkan device:", listing["note"])
            return 1
        print("skip: no Vulkan device here:", listing["note"])
        return 77
    c.check(listing["devices"][0]["id"] == "cpu", "devices lists the CPU first")
    c.check(bool(vulkan), f"devices lists a Vulkan device ({vulkan[0]['description']})")

    bad = subprocess.run([BIN, "generate", "-m", asset("stories260K/stories260K.gguf"), "--device", "vulkan:99",
                          "-p", "x", "-n", "1"], capture_output=True, text=True)
    c.check(bad.returncode != 0 and "no device 99" in bad.stderr, f"an absent device is named ({bad.stderr.strip()[-120:]})")
    bad = subprocess.run([BIN, "generate", "-m", asset("stories260K/stories260K.gguf"), "--device", "gpu",
                          "-p", "x", "-n", "1"], capture_output=True, text=True)
    c.check(bad.returncode != 0 and "unknown device" in bad.stderr, "an unknown device kind is refused")
    # A context whose per-layer KV buffer the device cannot bind: refused before any upload, with
    # the sizes (demo model: 2 x 128 f16 values per position and layer).
    too_long = vulkan[0]["max_buffer_bytes"] // 512 * 3 // 2
    bad = subprocess.run([BIN, "generate", "-m", os.path.join(SOURCE, "models/limarp-demo/limarp-demo.gguf"),
                          "--device", "vulkan", "--ctx", str(too_long), "-p", "x", "-n", "1"],
                         capture_output=True, text=True, timeout=600)
    c.check(bad.returncode != 0 and "KV cache per layer" in bad.stderr,
            f"a context too long for the device's buffers is refused ({bad.stderr.strip()[-160:]})")

    for name, model, prompt in [("stories260K", asset("stories260K/stories260K.gguf"), "Once upon a time"),
                                ("demo model", os.path.join(SOURCE, "models/limarp-demo/limarp-demo.gguf"),
                                 "### Instruction:\nTom is a knight.\n\n### Response:\nTom:")]:
        cpu, _ = greedy_tokens(model, "cpu", prompt)
        gpu, log = greedy_tokens(model, "vulkan", prompt)
        first = next((i for i, (a, b) in enumerate(zip(cpu, gpu)) if a != b), len(cpu))
        c.check(len(cpu) == 200 and cpu == gpu, f"{name}: greedy tokens on vulkan equal the CPU's (first difference at {first})")
        c.check("memory plan" in log, f"{name}: the memory plan is logged")
        # Layer offload: the first 3 layers on the device, the rest and the output on the CPU.
        split, log = greedy_tokens(model, "vulkan", prompt, "--gpu-layers", "3")
        first = next((i for i, (a, b) in enumerate(zip(cpu, split)) if a != b), len(cpu))
        c.check(cpu == split, f"{name}: --gpu-layers 3 gives the CPU's tokens too (first difference at {first})")
        c.check("3 of " in log, f"{name}: the plan says 3 layers are on the device")
    # Perplexity over held-out text: every row's logits of a window, prompt-sized batches.
    demo = os.path.join(SOURCE, "models/limarp-demo/limarp-demo.gguf")
    text = asset("text/tinystories_heldout.txt")
    ppl = {}
    for device in ("cpu", "vulkan"):
        out = run("perplexity", "-m", demo, "--device", device, "-f", text, "--ctx", "128", "--max-tokens", "512",
                  "--json")[0]
        ppl[device] = json.loads(out.strip().splitlines()[-1])["perplexity"]
    c.check(abs(ppl["vulkan"] - ppl["cpu"]) / ppl["cpu"] < 1e-3,
            f"perplexity on vulkan {ppl['vulkan']:.4f} vs cpu {ppl['cpu']:.4f} (within 0.1 %)")
    c.done()


if __name__ == "__main__":
    sys.exit(main())
