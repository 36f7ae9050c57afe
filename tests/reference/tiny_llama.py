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
Usage: tiny_llama.py OUT_DIR [--sharded] [--tied] [--seed N] [--dtype f32|f16|bf16]
"""
import argparse
import json
import os
import struct

import torch

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--sharded", action="store_true")
p.add_argument("--tied", action="store_true")
p.add_argument("--seed", type=int, default=1234)
p.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
p.add_argument("--wide", action="store_true", help="rows that quantized types can hold (multiples of 256)")
args = p.parse_args()

# Odd sizes on purpose: 3 layers, GQA 6 heads over 2 kv heads, head size 8, ffn 100, vocab 300.
dim, hidden, layers, heads, kv_heads, vocab, ctx = 48, 100, 3, 6, 2, 300, 64
if args.wide:
    dim, hidden, layers, heads, kv_heads, vocab, ctx = 256, 768, 2, 4, 2, 320, 64
head = dim // heads
eps, theta = 1e-5, 10000.0
torch.manual_seed(args.seed)


def rnd(*shape, std=0.08):
    # Wider rows sum more terms: scale so activations stay in the same range.
    return torch.randn(*shape, dtype=torch.float32) * std * (48 / dim) ** 0.5


weights = {"model.embed_tokens.weight": rnd(vocab, dim, std=0.5)}
for l in range(layers):
    pre = f"model.layers.{l}."
    weights[pre + "input_layernorm.weight"] = 1.0 + rnd(dim, std=0.1)
    weights[pre + "self_attn.q_proj.weight"] = rnd(heads * head, dim, std=0.2)
    weights[pre + "self_attn.k_proj.weight"] = rnd(kv_heads * head, dim, std=0.2)
    weights[pre + "self_attn.v_proj.weight"] = rnd(kv_heads * head, dim)
    weights[pre + "self_attn.o_proj.weight"] = rnd(dim, heads * head)
    weights[pre + "post_attention_layernorm.weight"] = 1.0 + rnd(dim, std=0.1)
    weights[pre + "mlp.gate_proj.weight"] = rnd(hidden, dim)
    weights[pre + "mlp.up_proj.weight"] = rnd(hidden, dim)
    weights[pre + "mlp.down_proj.weight"] = rnd(dim, hidden)
weights["model.norm.weight"] = 1.0 + rnd(dim, std=0.1)
if not args.tied:
    weights["lm_head.weight"] = rnd(vocab, dim, std=0.3)

store_dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
weights = {k: v.to(store_dtype).to(torch.float32) for k, v in weights.items()}  # values as stored


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    a, b = x[..., : head // 2], x[..., head // 2:]
    return torch.cat((-b, a), dim=-1)


def forward(w, tokens):
    T = len(tokens)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    inv_freq = 1.0 / (theta ** (torch.arange(0, head, 2, dtype=torch.float32) / head))
    angles = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((angles, angles), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(layers):
        pre = f"model.layers.{l}."
        h = rms_norm(x, w[pre + "input_layernorm.weight"])
        q = (h @ w[pre + "self_attn.q_proj.weight"].T).view(T, heads, head)
        k = (h @ w[pre + "self_attn.k_proj.weight"].T).view(T, kv_heads, head)
        v = (h @ w[pre + "self_attn.v_proj.weight"].T).view(T, kv_heads, head)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        att = torch.einsum("thd,shd->hts", q, k) / head ** 0.5 + mask
        out = torch.einsum("hts,shd->thd", att.softmax(-1), v).reshape(T, dim)
        x = x + out @ w[pre + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[pre + "post_attention_layernorm.weight"])
        g = torch.nn.functional.silu(h @ w[pre + "mlp.gate_proj.weight"].T)
        x = x + (g * (h @ w[pre + "mlp.up_proj.weight"].T)) @ w[pre + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"])
    out_w = w["model.embed_tokens.weight"] if args.tied else w["lm_head.weight"]
    return x @ out_w.T


def save_safetensors(path, tensors):
    """safetensors as specified: u64 header length, JSON header, raw little-endian data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    names = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
    for name, t in tensors.items():
        data = t.to(store_dtype).contiguous()
        raw = data.view(torch.int16).numpy().tobytes() if store_dtype == torch.bfloat16 else data.numpy().tobytes()
        header[name] = {"dtype": names[args.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


os.makedirs(args.out, exist_ok=True)
config = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
    "intermediate_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
    "num_key_value_heads": kv_heads, "max_position_embeddings": ctx, "vocab_size": vocab,
    "rms_norm_eps": eps, "rope_theta": theta, "tie_word_embeddings": args.tied, "hidden_act": "silu",
    "rope_scaling": None, "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[args.dtype],
}
json.dump(config, open(os.path.join(args.out, "config.json"), "w"), indent=2)
names = list(weights)
if args.sharded:
    half = len(names) // 2
    parts = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    for fname, part in parts.items():
        save_safetensors(os.path.join(args.out, fname), {n: weights[n] for n in part})
    index = {"metadata": {}, "weight_map": {n: f for f, part in parts.items() for n in part}}
    json.dump(index, open(os.path.join(args.out, "model.safetensors.index.json"), "w"))
else:
    save_safetensors(os.path.join(args.out, "model.safetensors"), weights)

gen = torch.Generator().manual_seed(args.seed + 1)
tokens = torch.randint(0, vocab, (12,), generator=gen).tolist()
tokens[0] = 1
with torch.no_grad():
    for suffix, cast in [("f32", None), ("f16", torch.float16), ("bf16", torch.bfloat16)]:
        w = weights
        if cast is not None:  # matrices rounded as a 16-bit conversion would; norms stay f32
            w = {k: (v.to(cast).to(torch.float32) if v.dim() == 2 else v) for k, v in weights.items()}
        logits = forward(w, tokens)
        logits.numpy().astype("<f4").tofile(os.path.join(args.out, f"logits_{suffix}.f32"))
torch.tensor(tokens, dtype=torch.int32).numpy().astype("<i4").tofile(os.path.join(args.out, "tokens.i32"))
json.dump({"n_prompt": 7, "vocab": vocab, "n_tokens": len(tokens)}, open(os.path.join(args.out, "meta.json"), "w"))
