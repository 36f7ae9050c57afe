#!/usr/bin/python3
"""PEFT LoRA adapters for a model written by tiny_llama.py, and the PyTorch logits with them.

The adapter follows LimaRP v3's published config (r 256, alpha 16, all seven projections,
dropout 0.1) and is saved the way PEFT saves adapter_model.bin: torch.save of an OrderedDict of
tensors in PEFT naming (real zip pickles), in fp32, fp16 and bf16, plus the same adapter as
adapter_model.safetensors. The reference logits use W + (alpha / r) · B·A with A and B as stored.
Usage: tiny_lora.py MODEL_DIR OUT_DIR [--seed N] [--rank R]
Writes OUT_DIR/<variant>/ (peft_f32_bin, peft_f16_bin, peft_bf16_bin, peft_f32_st, peft_modsave_st)
and OUT_DIR/logits_<variant>.f32.
"""
import argparse
import collections
import json
import os

import torch

import tiny_llama

PROJECTIONS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=77)
    p.add_argument("--rank", type=int, default=256)
    args = p.parse_args()
    meta = json.load(open(os.path.join(args.model, "meta.json")))
    s = tiny_llama.Shape(meta["wide"])
    base = tiny_llama.build_model(s, meta["seed"], meta["tied"], torch.float32)
    tokens = tiny_llama.sequence(s, meta["seed"], meta["n_tokens"])
    r, alpha = args.rank, 16
    scale = alpha / r

    torch.manual_seed(args.seed)
    factors = collections.OrderedDict()
    for l in range(s.layers):
        for proj in PROJECTIONS:
            w = base[f"model.layers.{l}.{proj}.weight"]
            out_f, in_f = w.shape
            # Trained adapters have B != 0 (PEFT starts it at 0); sized so the delta matters.
            factors[f"base_model.model.model.layers.{l}.{proj}.lora_A.weight"] = torch.randn(r, in_f) * 0.3
            factors[f"base_model.model.model.layers.{l}.{proj}.lora_B.weight"] = torch.randn(out_f, r) * 0.3
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.1,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "bias": "none", "fan_in_fan_out": False, "modules_to_save": None, "use_rslora": False, "use_dora": False,
        "inference_mode": True, "rank_pattern": {}, "alpha_pattern": {}, "layers_to_transform": None,
        "base_model_name_or_path": "tiny-llama",
    }

    def merged(dtype, extra=None):
        w = dict(base)
        for l in range(s.layers):
            for proj in PROJECTIONS:
                a = factors[f"base_model.model.model.layers.{l}.{proj}.lora_A.weight"].to(dtype).float()
                b = factors[f"base_model.model.model.layers.{l}.{proj}.lora_B.weight"].to(dtype).float()
                key = f"model.layers.{l}.{proj}.weight"
                w[key] = w[key] + scale * (b @ a)
        if extra:
            w.update(extra)
        return w

    def write(variant, dtype, saver, extra_tensors=None, extra_weights=None, cfg=config):
        d = os.path.join(args.out, variant)
        os.makedirs(d, exist_ok=True)
        json.dump(cfg, open(os.path.join(d, "adapter_config.json"), "w"), indent=2)
        tensors = collections.OrderedDict((k, v.to(dtype)) for k, v in factors.items())
        if extra_tensors:
            tensors.update((k, v.to(dtype)) for k, v in extra_tensors.items())
        saver(d, tensors, dtype)
        with torch.no_grad():
            tiny_llama.write_f32(os.path.join(args.out, f"logits_{variant}.f32"),
                                 tiny_llama.forward(s, merged(dtype, extra_weights), tokens))

    def torch_saver(d, tensors, dtype):
        torch.save(tensors, os.path.join(d, "adapter_model.bin"))

    def st_saver(d, tensors, dtype):
        tiny_llama.save_safetensors(os.path.join(d, "adapter_model.safetensors"), tensors, dtype)

    write("peft_f32_bin", torch.float32, torch_saver)
    write("peft_f16_bin", torch.float16, torch_saver)
    write("peft_bf16_bin", torch.bfloat16, torch_saver)
    write("peft_f32_st", torch.float32, st_saver)
    # modules_to_save: a full replacement lm_head (or embedding when tied), as PEFT stores it.
    head_name = "lm_head.weight" if "lm_head.weight" in base else "model.embed_tokens.weight"
    new_head = torch.randn_like(base[head_name]) * 0.3
    cfg = dict(config, modules_to_save=["lm_head" if head_name == "lm_head.weight" else "embed_tokens"])
    write("peft_modsave_st", torch.float32, st_saver, {"base_model.model." + head_name: new_head},
          {head_name: new_head}, cfg)


if __name__ == "__main__":
    main()
