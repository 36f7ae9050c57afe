#!/usr/bin/python3
"""Writes a tiny random Llama in the Hugging Face layout and its PyTorch logits.

The oracle for limarp's forward pass: an independent Llama written directly in torch
(RMSNorm, rotate-half rotary embeddings as Hugging Face stores q/k, grouped-query attention,
SwiGLU), evaluated on a token sequence. Outputs, in OUT_DIR:
  config.json, model.safetensors (or two shards + model.safetensors.index.json with --sharded)
  tokens.i32                      the token sequence (the first N_PROMPT are the prompt)
  logits_f32.f32                  [len(tokens), vocab] logits with the weights as written
  logits_f16.f32, logits_bf16.f32 the same with every matrix rounded to f16 / bf16 first
  meta.json                       sizes
Usage: tiny_llama.py OUT_DIR [--sharded] [--tied] [--seed N] [--dtype f32|f16|bf16] [--wide]
       [--rope-shape] [--ctx N] [--rope-scaling JSON] [--no-config-scaling]
--rope-scaling takes Hugging Face's rope_scaling dict (or {"rope_type": "ntk", ...}); the logits
use rope_oracle.py's tables, and config.json carries the dict unless --no-config-scaling.
Other scripts import build_model / forward / save_safetensors from here.
"""
import argparse
import json
import os
import struct

import torch

import rope_oracle

N_PROMPT = 7
N_TOKENS = 12


class Shape:
    def __init__(self, wide=False, rope_shape=False):
        # Odd sizes on purpose: 3 layers, GQA 6 heads over 2 kv heads, head size 8, ffn 100.
        self.dim, self.hidden, self.layers, self.heads, self.kv_heads, self.vocab, self.ctx = 48, 100, 3, 6, 2, 300, 64
        if wide:  # rows that quantized types can hold (multiples of 256)
            self.dim, self.hidden, self.layers, self.heads, self.kv_heads, self.vocab = 256, 768, 2, 4, 2, 320
        if rope_shape:  # head size 32: enough rotary pairs for YaRN's ramp and Llama 3's bands
            self.dim, self.hidden, self.layers, self.heads, self.kv_heads = 96, 100, 2, 3, 1
        self.head = self.dim // self.heads
        self.eps, self.theta = 1e-5, 10000.0
        self.rope = None  # a rope_scaling dict for rope_oracle.tables


def build_model(s, seed, tied, store_dtype):
    torch.manual_seed(seed)

    def rnd(*shape, std=0.08):
        # Wider rows sum more terms: scale so activations stay in the same range.
        return torch.randn(*shape, dtype=torch.float32) * std * (48 / s.dim) ** 0.5

    w = {"model.embed_tokens.weight": rnd(s.vocab, s.dim, std=0.5)}
    for l in range(s.layers):
        pre = f"model.layers.{l}."
        w[pre + "input_layernorm.weight"] = 1.0 + rnd(s.dim, std=0.1)
        w[pre + "self_attn.q_proj.weight"] = rnd(s.heads * s.head, s.dim, std=0.2)
        w[pre + "self_attn.k_proj.weight"] = rnd(s.kv_heads * s.head, s.dim, std=0.2)
        w[pre + "self_attn.v_proj.weight"] = rnd(s.kv_heads * s.head, s.dim)
        w[pre + "self_attn.o_proj.weight"] = rnd(s.dim, s.heads * s.head)
        w[pre + "post_attention_layernorm.weight"] = 1.0 + rnd(s.dim, std=0.1)
        w[pre + "mlp.gate_proj.weight"] = rnd(s.hidden, s.dim)
        w[pre + "mlp.up_proj.weight"] = rnd(s.hidden, s.dim)
        w[pre + "mlp.down_proj.weight"] = rnd(s.dim, s.hidden)
    w["model.norm.weight"] = 1.0 + rnd(s.dim, std=0.1)
    if not tied:
        w["lm_head.weight"] = rnd(s.vocab, s.dim, std=0.3)
    return {k: v.to(store_dtype).to(torch.float32) for k, v in w.items()}  # values as stored


def rms_norm(s, x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + s.eps) * w


def forward(s, w, tokens, linear=None):
    """Logits [T, vocab] for the whole sequence (causal), the Hugging Face way.
    linear(name, x), when given, replaces x @ w[name].T for the projections (LoRA branches)."""
    T = len(tokens)
    lin = linear or (lambda name, x: x @ w[name].T)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    if s.rope is None:
        inv_freq, magnitude = 1.0 / (s.theta ** (torch.arange(0, s.head, 2, dtype=torch.float32) / s.head)), 1.0
    else:
        inv_freq, magnitude = rope_oracle.tables(s.head, s.theta, s.rope, s.ctx, T)
        inv_freq = inv_freq.to(torch.float32)
    angles = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((angles, angles), dim=-1)
    cos, sin = emb.cos()[:, None, :] * magnitude, emb.sin()[:, None, :] * magnitude

    def rotate_half(v):
        return torch.cat((-v[..., s.head // 2:], v[..., : s.head // 2]), dim=-1)

    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(s.layers):
        pre = f"model.layers.{l}."
        h = rms_norm(s, x, w[pre + "input_layernorm.weight"])
        q = lin(pre + "self_attn.q_proj.weight", h).view(T, s.heads, s.head)
        k = lin(pre + "self_attn.k_proj.weight", h).view(T, s.kv_heads, s.head)
        v = lin(pre + "self_attn.v_proj.weight", h).view(T, s.kv_heads, s.head)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(s.heads // s.kv_heads, dim=1)
        v = v.repeat_interleave(s.heads // s.kv_heads, dim=1)
        att = torch.einsum("thd,shd->hts", q, k) / s.head ** 0.5 + mask
        out = torch.einsum("hts,shd->thd", att.softmax(-1), v).reshape(T, s.dim)
        x = x + lin(pre + "self_attn.o_proj.weight", out)
        h = rms_norm(s, x, w[pre + "post_attention_layernorm.weight"])
        g = torch.nn.functional.silu(lin(pre + "mlp.gate_proj.weight", h))
        x = x + lin(pre + "mlp.down_proj.weight", g * lin(pre + "mlp.up_proj.weight", h))
    x = rms_norm(s, x, w["model.norm.weight"])
    out_w = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ out_w.T


ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def save_safetensors(path, tensors, dtype=torch.float32):
    """safetensors as specified: u64 header length, JSON header, raw little-endian data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.to(dtype).contiguous()
        raw = data.view(torch.int16).numpy().tobytes() if dtype == torch.bfloat16 else data.numpy().tobytes()
        header[name] = {"dtype": ST_NAMES[dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_f32(path, t):
    t.detach().numpy().astype("<f4").tofile(path)


def sequence(s, seed, n_tokens=N_TOKENS):
    gen = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, s.vocab, (n_tokens,), generator=gen).tolist()
    tokens[0] = 1
    return tokens


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--sharded", action="store_true")
    p.add_argument("--tied", action="store_true")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
    p.add_argument("--wide", action="store_true")
    p.add_argument("--rope-shape", action="store_true")
    p.add_argument("--ctx", type=int, default=0, help="max_position_embeddings (default 64)")
    p.add_argument("--rope-scaling", default="", help="rope_scaling as JSON")
    p.add_argument("--no-config-scaling", action="store_true")
    p.add_argument("--tokens", type=int, default=N_TOKENS, help="sequence length (prompt: all but the last 5)")
    args = p.parse_args()
    s = Shape(args.wide, args.rope_shape)
    s.ctx = args.ctx or s.ctx
    s.rope = json.loads(args.rope_scaling) if args.rope_scaling else None
    store_dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    weights = build_model(s, args.seed, args.tied, store_dtype)

    os.makedirs(args.out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": s.dim,
        "intermediate_size": s.hidden, "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
        "num_key_value_heads": s.kv_heads, "max_position_embeddings": s.ctx, "vocab_size": s.vocab,
        "rms_norm_eps": s.eps, "rope_theta": s.theta, "tie_word_embeddings": args.tied, "hidden_act": "silu",
        "rope_scaling": None if args.no_config_scaling else s.rope, "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[args.dtype],
    }
    json.dump(config, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    names = list(weights)
    if args.sharded:
        half = len(names) // 2
        parts = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
        for fname, part in parts.items():
            save_safetensors(os.path.join(args.out, fname), {n: weights[n] for n in part}, store_dtype)
        index = {"metadata": {}, "weight_map": {n: f for f, part in parts.items() for n in part}}
        json.dump(index, open(os.path.join(args.out, "model.safetensors.index.json"), "w"))
    else:
        save_safetensors(os.path.join(args.out, "model.safetensors"), weights, store_dtype)

    tokens = sequence(s, args.seed, args.tokens)
    with torch.no_grad():
        for suffix, cast in [("f32", None), ("f16", torch.float16), ("bf16", torch.bfloat16)]:
            w = weights
            if cast is not None:  # matrices rounded as a 16-bit conversion would; norms stay f32
                w = {k: (v.to(cast).to(torch.float32) if v.dim() == 2 else v) for k, v in weights.items()}
            write_f32(os.path.join(args.out, f"logits_{suffix}.f32"), forward(s, w, tokens))
    torch.tensor(tokens, dtype=torch.int32).numpy().astype("<i4").tofile(os.path.join(args.out, "tokens.i32"))
    n_prompt = N_PROMPT if args.tokens == N_TOKENS else args.tokens - 5
    json.dump({"n_prompt": n_prompt, "vocab": s.vocab, "n_tokens": len(tokens), "seed": args.seed, "wide": args.wide,
               "tied": args.tied, "rope_shape": args.rope_shape, "ctx": s.ctx, "rope": s.rope}, open(os.path.join(args.out, "meta.json"), "w"))


if __name__ == "__main__":
    main()
