"""The card's two-pass pipeline on stories260K, through the real binary:
pass 1 trains a LoRA adapter on TinyStories text (completion) and must lower the held-out
loss of the real base; `limarp prepare` previews pass 2's LimaRP conversations (counts, length
labels, masked samples); pass 2 continues the pass-1 adapter (lora_model_dir) on them as QLoRA
(NF4 base, bf16 factors) with micro-batches of 1 and gradient accumulation; the adapter is a
PEFT folder that `limarp generate --lora` loads.
Then Ctrl-C during a run writes a checkpoint and exits 0, and --resume finishes the run; and a
full-parameter run writes a model that generates."""
import json
import os
import re
import signal
import struct
import subprocess
import time

from common import BIN, SOURCE, Checker, asset, run, scratch

model = asset("stories260K/stories260K.bin")
tok = asset("stories260K/tok512.bin")
text = asset("text/tinystories_first300.txt")
work = scratch()
c = Checker()


def write(name, body):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(body)
    return path


def log_lines(out_dir):
    return [json.loads(l) for l in open(os.path.join(out_dir, "train_log.jsonl"))]


def safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


common = f"""base_model: {model}
tokenizer_config: {tok}
adapter: lora
lora_r: 16
lora_alpha: 32
lora_target_linear: true
optimizer: adamw_torch
lr_scheduler: constant
"""

# Pass 1: unsupervised, on stories; the held-out loss must fall.
pass1_out = os.path.join(work, "pass1")
pass1 = write("pass1.yml", common.replace("lr_scheduler: constant", "lr_scheduler: cosine") + f"""lora_dropout: 0.1
sequence_len: 256
micro_batch_size: 8
gradient_accumulation_steps: 1
max_steps: 40
learning_rate: 0.001
warmup_steps: 4
val_set_size: 40
seed: 3
output_dir: {pass1_out}
datasets:
  - path: {text}
    type: completion
""")
out, err, _ = run("train", pass1, "-t", "2")
s1 = json.loads(out.strip().splitlines()[-1])
c.check(s1["steps"] == 40 and not s1["interrupted"], "pass 1 ran 40 steps")
c.check(s1["last_eval_loss"] < s1["first_eval_loss"],
        f"pass 1 lowers held-out loss: {s1['first_eval_loss']:.4f} -> {s1['last_eval_loss']:.4f}")
c.check("memory plan for this run" in err and "Llama-2-7B" in err, "memory plans printed (this run and the card's)")
measured = re.search(r"after the first step: activations .*?, kernel scratch ([0-9.]+ [KMG]iB) .*?"
                     r"peak resident memory ([0-9.]+ [KMG]iB)", err)
c.check(measured is not None and not measured.group(1).startswith("0.0 "),
        f"memory measured after the first step, kernel scratch included: {measured.groups() if measured else err[-400:]}")
lines = log_lines(pass1_out)
steps = [l for l in lines if "loss" in l]
c.check(len(steps) == 40 and all(k in steps[0] for k in ("step", "loss", "lr", "grad_norm", "tokens_per_s")),
        "JSON-lines log has step, loss, lr, grad_norm, tokens/s")
cfg = json.load(open(os.path.join(pass1_out, "adapter_config.json")))
c.check(cfg["peft_type"] == "LORA" and cfg["r"] == 16 and cfg["lora_alpha"] == 32 and
        sorted(cfg["target_modules"]) == sorted(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                 "down_proj"]), "pass-1 adapter_config.json is PEFT's")
header = safetensors_header(os.path.join(pass1_out, "adapter_model.safetensors"))
a = header["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]
b = header["base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"]
c.check(a["shape"] == [16, 64] and b["shape"] == [64, 16] and a["dtype"] == "F32",
        "PEFT tensor names and shapes (A [r, in], B [out, r])")

# Pass 2: LimaRP conversations, continuing pass 1's adapter.
fixtures = os.path.join(SOURCE, "tests", "fixtures", "limarp")
pass2_out = os.path.join(work, "pass2")
pass2 = write("pass2.yml", common.replace("adapter: lora", "adapter: qlora\nload_in_4bit: true\nbf16: true") + f"""lora_model_dir: {pass1_out}
lora_dropout: 0.0
sequence_len: 2048
micro_batch_size: 1
gradient_accumulation_steps: 2
num_epochs: 2
learning_rate: 0.002
seed: 5
output_dir: {pass2_out}
datasets:
  - path: {fixtures}
    type: limarp
    length_thresholds: [5, 10, 15, 25, 40, 60, 80]
""")
out, _, _ = run("prepare", pass2, "--json", "--show", "3")
p = json.loads(out)
d = p["datasets"][0]
c.check(d["samples"] == 3 and d["files"] == 3, "prepare: three conversations")
c.check(0 < d["trained_tokens"] < d["tokens"], "prepare: only part of the tokens are trained (the replies)")
c.check(sum(d["length_histogram"].values()) == 6, "prepare: one length label per character reply (6)")
c.check(p["steps"] == 4, f"prepare: 3 samples x 2 epochs in steps of 2 micro-batches = 4 steps (got {p['steps']})")
c.check(any("(length = " in v["text"] and "«" in v["text"] for v in p["previews"]), "prepare: previews show labels and mask")
human, _, _ = run("prepare", pass2)
c.check("length labels of 6 replies" in human, "prepare: the length-label histogram in the text report")
out, _, _ = run("train", pass2, "-t", "2")
s2 = json.loads(out.strip().splitlines()[-1])
c.check(s2["steps"] == 4 and os.path.exists(os.path.join(pass2_out, "adapter_model.safetensors")), "pass 2 trained")
before = open(os.path.join(pass1_out, "adapter_model.safetensors"), "rb").read()
after = open(os.path.join(pass2_out, "adapter_model.safetensors"), "rb").read()
c.check(before != after, "pass 2 changed the pass-1 adapter")
out, _, _ = run("generate", "-m", model, "--tokenizer", tok, "--lora", pass2_out, "--temperature", "0", "-n", "20",
                "--json")
c.check(len(json.loads(out.strip().splitlines()[-1])["tokens"]) > 0, "generate loads the trained adapter")

# Ctrl-C: a checkpoint, exit 0; --resume completes the run.
long_out = os.path.join(work, "long")
long_cfg = write("long.yml", open(pass1).read().replace(pass1_out, long_out).replace("max_steps: 40", "max_steps: 100000")
                 .replace("val_set_size: 40", "val_set_size: 0"))
proc = subprocess.Popen([BIN, "train", long_cfg, "-t", "1", "--no-progress"], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(os.path.join(long_out, "train_log.jsonl")):
    time.sleep(0.2)
time.sleep(2)
proc.send_signal(signal.SIGINT)
stdout, stderr = proc.communicate(timeout=300)
c.check(proc.returncode == 0, f"Ctrl-C exits cleanly (status {proc.returncode})")
summary = json.loads(stdout.decode().strip().splitlines()[-1])
ckpt = summary["checkpoint"]
c.check(summary["interrupted"] and os.path.exists(os.path.join(ckpt, "optimizer.safetensors")) and
        os.path.exists(os.path.join(ckpt, "adapter_model.safetensors")), f"Ctrl-C wrote {os.path.basename(ckpt)}")
resumed = write("resume.yml", open(long_cfg).read().replace("max_steps: 100000", f"max_steps: {summary['steps'] + 2}"))
# Resuming needs the same data settings; max_steps may change.
out, _, _ = run("train", resumed, "--resume", ckpt, "-t", "1")
c.check(json.loads(out.strip().splitlines()[-1])["steps"] == summary["steps"] + 2, "--resume continues to the end")

# Full-parameter training: every weight, a model file that generates.
full_out = os.path.join(work, "full")
full = write("full.yml", f"""base_model: {model}
tokenizer_config: {tok}
sequence_len: 128
micro_batch_size: 4
max_steps: 3
learning_rate: 0.0005
weight_decay: 0.1
output_dir: {full_out}
datasets:
  - path: {text}
    type: completion
""")
out, _, _ = run("train", full, "-t", "2")
gguf = os.path.join(full_out, "model.gguf")
c.check(os.path.exists(gguf), "full training writes model.gguf")
out, _, _ = run("generate", "-m", gguf, "--temperature", "0", "-n", "10", "--json")
c.check(len(json.loads(out.strip().splitlines()[-1])["tokens"]) == 10, "the fully trained model generates")
c.done()
