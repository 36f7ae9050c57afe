#!/usr/bin/python3
"""Training oracle: the tiny Llama of tiny_llama.py trained with LoRA or on every weight.

PyTorch autograd gives the loss and gradients of one optimizer step's objective, and then
torch.optim.AdamW runs STEPS steps; limarp must reproduce both. The objective of a step is the
one limarp documents: the summed next-token cross-entropy over every target token of the
step's micro-batches divided by their number (targets of -1 carry no loss). Each micro-batch
holds whole sequences whose positions start at 0 (what sample packing without cross-sample
attention computes). LoRA branches are computed explicitly: y = x·Wᵀ + (alpha/r)·(x·Aᵀ)·Bᵀ.

Usage: tiny_train.py MODEL_DIR OUT_DIR --mode lora|full [--rank R] [--alpha A] [--steps N]
Writes OUT_DIR/:
  batch<m>_tokens.i32, batch<m>_targets.i32, batch<m>_lengths.i32   micro-batches m = 0, 1
  adapter/          (lora) the initial factors as a PEFT folder (safetensors)
  loss0.f32         the step-0 objective
  grads.json        {parameter name (PEFT or canonical GGUF): file.f32} gradients at step 0
  losses.f32        the objective before each AdamW step
  settings.json     learning rate, schedule, clipping, weight decay, betas, eps, steps
"""
import argparse
import json
import math
import os

import torch

import tiny_llama

PROJ = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down"}


def canonical(hf):
    """Hugging Face tensor name -> limarp's canonical (GGUF) name."""
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if hf in fixed:
        return fixed[hf]
    parts = hf.split(".")  # model.layers.N.<module...>.weight
    layer, module = parts[2], ".".join(parts[3:-1])
    if module == "input_layernorm":
        return f"blk.{layer}.attn_norm.weight"
    if module == "post_attention_layernorm":
        return f"blk.{layer}.ffn_norm.weight"
    return f"blk.{layer}.{PROJ[module]}.weight"


def micro_batches(s, seed):
    """Two micro-batches of two sequences each, with masked prompt targets."""
    gen = torch.Generator().manual_seed(seed + 99)
    batches = []
    for lengths, prompt in (([9, 5], [3, 1]), ([12, 7], [4, 0])):
        tokens, targets = [], []
        for n, p in zip(lengths, prompt):
            seq = torch.randint(0, s.vocab, (n,), generator=gen).tolist()
            seq[0] = 1
            tgt = seq[1:] + [-1]
            for i in range(p):  # the first p targets belong to the "prompt"
                tgt[i] = -1
            tokens += seq
            targets += tgt
        batches.append((tokens, targets, lengths))
    return batches


def objective(s, w, batches, linear):
    total, count = 0.0, 0
    for tokens, targets, lengths in batches:
        start = 0
        for n in lengths:
            logits = tiny_llama.forward(s, w, tokens[start:start + n], linear)
            tgt = torch.tensor(targets[start:start + n])
            keep = tgt >= 0
            if keep.any():
                total = total + torch.nn.functional.cross_entropy(logits[keep], tgt[keep], reduction="sum")
            count += int(keep.sum())
            start += n
    return total / count


def cosine_with_warmup(warmup, total):
    # Hugging Face's get_cosine_schedule_with_warmup (half a cosine period), as a LambdaLR factor.
    def f(step):
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
    return f


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--mode", choices=["lora", "full"], required=True)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--alpha", type=float, default=8.0)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    meta = json.load(open(os.path.join(args.model, "meta.json")))
    s = tiny_llama.Shape(meta["wide"], meta.get("rope_shape", False))
    s.ctx, s.rope = meta.get("ctx", s.ctx), meta.get("rope")
    base = tiny_llama.build_model(s, meta["seed"], meta["tied"], torch.float32)
    os.makedirs(args.out, exist_ok=True)
    batches = micro_batches(s, args.seed)
    for m, (tokens, targets, lengths) in enumerate(batches):
        for suffix, values in (("tokens", tokens), ("targets", targets), ("lengths", lengths)):
            torch.tensor(values, dtype=torch.int32).numpy().astype("<i4").tofile(
                os.path.join(args.out, f"batch{m}_{suffix}.i32"))

    torch.manual_seed(args.seed)
    params, names, no_decay = [], [], []
    if args.mode == "lora":
        w = base
        scale = args.alpha / args.rank
        factors = {}
        for l in range(s.layers):
            for proj in PROJ:
                out_f, in_f = base[f"model.layers.{l}.{proj}.weight"].shape
                # Non-zero B (PEFT starts at 0) so that A has a gradient at step 0 too.
                a = (torch.randn(args.rank, in_f) * 0.2).requires_grad_()
                b = (torch.randn(out_f, args.rank) * 0.2).requires_grad_()
                factors[f"model.layers.{l}.{proj}.weight"] = (a, b)
                for t, ab in ((a, "A"), (b, "B")):
                    params.append(t)
                    names.append(f"base_model.model.model.layers.{l}.{proj}.lora_{ab}.weight")

        def linear(name, x):
            y = x @ base[name].T
            if name in factors:
                a, b = factors[name]
                y = y + scale * ((x @ a.T) @ b.T)
            return y

        adapter = os.path.join(args.out, "adapter")
        os.makedirs(adapter, exist_ok=True)
        tiny_llama.save_safetensors(os.path.join(adapter, "adapter_model.safetensors"),
                                    {n: t.detach() for n, t in zip(names, params)})
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": args.rank, "lora_alpha": args.alpha,
                   "lora_dropout": 0.0, "target_modules": [k.split(".")[1] for k in PROJ], "bias": "none"},
                  open(os.path.join(adapter, "adapter_config.json"), "w"))
    else:
        w = {k: v.clone().requires_grad_() for k, v in base.items()}
        linear = None
        for k, v in w.items():
            params.append(v)
            names.append(canonical(k))
            no_decay.append(k.endswith("norm.weight"))

    loss = objective(s, w, batches, linear)
    loss.backward()
    tiny_llama.write_f32(os.path.join(args.out, "loss0.f32"), loss.reshape(1))
    manifest = {}
    for i, (name, t) in enumerate(zip(names, params)):
        manifest[name] = f"grad{i}.f32"
        tiny_llama.write_f32(os.path.join(args.out, f"grad{i}.f32"), t.grad)
    json.dump(manifest, open(os.path.join(args.out, "grads.json"), "w"), indent=1)
    norm0 = float(torch.norm(torch.stack([torch.norm(t.grad) for t in params])))

    # Settings chosen so that every feature acts: warmup (lr 0 at the first step), the cosine
    # decay, clipping (the limit is below the initial gradient norm) and weight decay.
    settings = {"lr": 5e-3, "warmup_steps": 2, "steps": args.steps, "max_grad_norm": 0.6 * norm0,
                "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    json.dump(settings, open(os.path.join(args.out, "settings.json"), "w"), indent=1)
    groups = [{"params": [t for t, nd in zip(params, no_decay or [False] * len(params)) if not nd]},
              {"params": [t for t, nd in zip(params, no_decay or [False] * len(params)) if nd], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    opt = torch.optim.AdamW(groups, lr=settings["lr"], betas=(settings["beta1"], settings["beta2"]),
                            eps=settings["eps"], weight_decay=settings["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_with_warmup(settings["warmup_steps"], args.steps))
    losses = []
    for _ in range(args.steps):
        opt.zero_grad()
        loss = objective(s, w, batches, linear)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, settings["max_grad_norm"])
        opt.step()
        sched.step()
        losses.append(float(loss))
    tiny_llama.write_f32(os.path.join(args.out, "losses.f32"), torch.tensor(losses))


if __name__ == "__main__":
    main()
