#!/usr/bin/python3
"""Training throughput of limarp vs PyTorch on the same model, config and thread count.

Both train a LoRA adapter (rank R on all seven projections, dropout P, AdamW) with micro-batches
of B sequences of T tokens, on one of three models:
  stories260K  the real llama2.c checkpoint (dim 64, 5 layers, vocab 512)
  stories15M   its shape (dim 288, 6 layers, 6 heads, ffn 768, vocab 32000), random weights
  stories110M  its shape (dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000), random weights
(the random checkpoints are written in llama2.c's format, so both programs read the same file;
weight values do not change the work):
  limarp   `limarp train CONFIG --benchmark STEPS -t N` on TinyStories text chunked to T tokens
  PyTorch  the same model, LoRA and optimizer written with torch ops (batched [B, T] tensors,
           frozen base weights, autograd), torch.set_num_threads(N), on random tokens of the
           same shape (token values do not change the work).
With --precision bf16 both train in mixed precision, as the model card does (bf16: True): torch
under torch.autocast("cpu", dtype=torch.bfloat16) (its matrix products then take bf16 operands,
through oneDNN, on AMX where the CPU has it), limarp with `bf16: true` (LoRA factors rounded to
bf16, and the base-weight products on AMX with bf16 operands where the CPU has it).
Each side runs one warm-up step, then STEPS timed steps; the two programs alternate REPS times
and the result is each side's tokens per second per repetition and the median ratio. The result
names the BLAS library torch actually loaded (Debian's python3-torch calls libblas.so.3, which
the alternatives system points at the reference BLAS or, once libopenblas0-pthread is
installed, at OpenBLAS; scripts/setup.sh installs it).
Usage:
  bench/train_vs_torch.py --limarp build/release/bin/limarp [--shape stories15M] [--threads 2]
      [--steps 10] [--reps 3] [--seq-len 256] [--micro-batch 8] [--rank 8] [--dropout 0.1]
      [--precision f32|bf16] [--assets ../shared/assets]
"""
import argparse
import atexit
import json
import math
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import tempfile
import time

import torch


def load_llama2c(path):
    """Weights of a legacy llama2.c checkpoint: header of 7 int32, then float32 arrays."""
    with open(path, "rb") as f:
        dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("7i", f.read(28))
        data = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    shared = vocab > 0
    vocab = abs(vocab)
    hd = dim // heads
    off = 0

    def take(*shape):
        nonlocal off
        n = math.prod(shape)
        t = data[off:off + n].view(*shape).clone()
        off += n
        return t

    w = {"emb": take(vocab, dim), "attn_norm": take(layers, dim), "wq": take(layers, dim, dim),
         "wk": take(layers, kv_heads * hd, dim), "wv": take(layers, kv_heads * hd, dim), "wo": take(layers, dim, dim),
         "ffn_norm": take(layers, dim), "w1": take(layers, hidden, dim), "w2": take(layers, dim, hidden),
         "w3": take(layers, hidden, dim), "norm": take(dim)}
    off += seq * hd  # two legacy rotary tables of [seq, hd/2]
    w["out"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab, hd=hd)
    return cfg, w


SHAPES = {  # llama2.c's published model shapes: dim, hidden, layers, heads, kv heads, vocab, seq
    "stories15M": (288, 768, 6, 6, 6, 32000, 256),
    "stories110M": (768, 2048, 12, 12, 12, 32000, 1024),
}


def write_random_llama2c(path, shape, seed=0):
    """A legacy llama2.c checkpoint of the given shape with random weights (std 0.02, norms 1)."""
    dim, hidden, layers, heads, kv_heads, vocab, seq = shape
    hd = dim // heads
    gen = torch.Generator().manual_seed(seed)

    def rand(*s):
        return (torch.randn(*s, generator=gen) * 0.02).numpy().tobytes()

    with open(path, "wb") as f:
        f.write(struct.pack("7i", dim, hidden, layers, heads, kv_heads, vocab, seq))  # positive vocab: shared
        f.write(rand(vocab, dim))
        f.write(torch.ones(layers, dim).numpy().tobytes())
        for n_out, n_in in ((dim, dim), (kv_heads * hd, dim), (kv_heads * hd, dim), (dim, dim)):
            f.write(rand(layers, n_out, n_in))
        f.write(torch.ones(layers, dim).numpy().tobytes())
        for n_out, n_in in ((hidden, dim), (dim, hidden), (hidden, dim)):
            f.write(rand(layers, n_out, n_in))
        f.write(torch.ones(dim).numpy().tobytes())
        f.write(torch.zeros(seq * hd).numpy().tobytes())  # the two legacy rotary tables


def loaded_blas():
    """The BLAS library this process has mapped (after a matrix product), e.g. libopenblasp-r0.3.21.so."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    names = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            lib = os.path.basename(line.split()[-1]) if "/" in line else ""
            if "blas" in lib.lower():
                names.add("/".join(os.path.realpath(line.split()[-1]).split("/")[-2:]))
    return ", ".join(sorted(names)) or "none found"


def torch_tokens_per_s(args, cfg, w):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    L, D, H, KV, hd, V = cfg["layers"], cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["hd"], cfg["vocab"]
    B, T, r = args.micro_batch, args.seq_len, args.rank
    scale = args.alpha / r
    names = ["wq", "wk", "wv", "wo", "w1", "w3", "w2"]  # q k v o gate up down
    lora = {}
    for l in range(L):
        for n in names:
            out_f, in_f = w[n][l].shape
            a = torch.empty(r, in_f).uniform_(-1 / math.sqrt(in_f), 1 / math.sqrt(in_f)).requires_grad_()
            b = torch.zeros(out_f, r).requires_grad_()
            lora[(l, n)] = (a, b)
    params = [t for ab in lora.values() for t in ab]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq[None, :]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    mask = torch.full((T, T), float("-inf")).triu(1)

    def lin(x, l, n):
        a, b = lora[(l, n)]
        return x @ w[n][l].T + scale * ((torch.nn.functional.dropout(x, args.dropout, True) @ a.T) @ b.T)

    def rope(x):  # interleaved pairs (2i, 2i+1), as llama2.c stores q/k
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)

    def rms(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

    def step(tokens, targets):
        x = w["emb"][tokens]
        for l in range(L):
            h = rms(x, w["attn_norm"][l])
            q = rope(lin(h, l, "wq").view(B, T, H, hd))
            k = rope(lin(h, l, "wk").view(B, T, KV, hd)).repeat_interleave(H // KV, dim=2)
            v = lin(h, l, "wv").view(B, T, KV, hd).repeat_interleave(H // KV, dim=2)
            att = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(hd) + mask
            o = torch.einsum("bhts,bshd->bthd", att.softmax(-1), v).reshape(B, T, D)
            x = x + lin(o, l, "wo")
            h = rms(x, w["ffn_norm"][l])
            x = x + lin(torch.nn.functional.silu(lin(h, l, "w1")) * lin(h, l, "w3"), l, "w2")
        logits = rms(x, w["norm"]) @ w["out"].T
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return float(loss)

    gen = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, V, (B, T + 1), generator=gen) for _ in range(args.steps + 1)]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
        step(batches[0][:, :-1], batches[0][:, 1:])  # warm-up
        start = time.perf_counter()
        for b in batches[1:]:
            step(b[:, :-1], b[:, 1:])
        return B * T * args.steps / (time.perf_counter() - start)


def scratch():
    """A folder for this run's files, removed when the script exits."""
    d = tempfile.mkdtemp(prefix="limarp-bench-")
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def limarp_tokens_per_s(args, model, tokenizer):
    d = scratch()
    config = f"""base_model: {model}
tokenizer_config: {tokenizer}
adapter: lora
lora_r: {args.rank}
lora_alpha: {args.alpha}
lora_dropout: {args.dropout}
lora_target_linear: true
sequence_len: {args.seq_len}
micro_batch_size: {args.micro_batch}
gradient_accumulation_steps: 1
max_steps: 1000
learning_rate: 0.001
optimizer: adamw_torch
max_grad_norm: 1.0
bf16: {"true" if args.precision == "bf16" else "false"}
output_dir: {d}/out
datasets:
  - path: {os.path.join(args.assets, "text/tinystories_sample_2MiB.txt")}
    type: completion
"""
    path = os.path.join(d, "bench.yml")
    with open(path, "w") as f:
        f.write(config)
    out = subprocess.run([args.limarp, "-q", "train", path, "--benchmark", str(args.steps), "-t", str(args.threads)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["tokens_per_s"]


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--limarp", required=True)
    p.add_argument("--shape", choices=["stories260K", *SHAPES], default="stories260K")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--assets", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "assets"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--micro-batch", type=int, default=8)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    args = p.parse_args()
    if args.shape == "stories260K":
        model = os.path.join(args.assets, "stories260K/stories260K.bin")
        tokenizer = os.path.join(args.assets, "stories260K/tok512.bin")
    else:
        model = os.path.join(scratch(), args.shape + "-random.bin")
        write_random_llama2c(model, SHAPES[args.shape])
        tokenizer = os.path.join(args.assets, "llama2-tokenizer/tokenizer.bin")
    cfg, w = load_llama2c(model)
    ours, theirs = [], []
    for _ in range(args.reps):  # alternated, so both see the same machine state
        ours.append(limarp_tokens_per_s(args, model, tokenizer))
        theirs.append(torch_tokens_per_s(args, cfg, w))
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    result = {"machine": cpu_name(), "shape": args.shape, "threads": args.threads, "torch": torch.__version__,
              "torch_built_with": found.group(1) if found else "?", "blas_loaded": loaded_blas(),
              "config": {"seq_len": args.seq_len, "micro_batch": args.micro_batch, "rank": args.rank,
                         "dropout": args.dropout, "steps": args.steps, "reps": args.reps,
                         "precision": args.precision},
              "limarp_tokens_per_s": [round(x, 1) for x in ours], "torch_tokens_per_s": [round(x, 1) for x in theirs],
              "ratio": round(statistics.median(o / t for o, t in zip(ours, theirs)), 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
