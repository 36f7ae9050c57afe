"""Hostile inputs to `limarp train` and `limarp convert` through the real binary (issue 21):
absurd config values, a memory plan over --max-memory, a trainer_state.json of the wrong
type, a dataset path that is a FIFO or an empty folder, and a handful of mutated configs each
end with a message and exit status 1 - never a signal, an abort or "internal error". A folder
written by convert appears only complete, and a stale temporary of a killed run beside it is
cleaned."""
import json
import os
import subprocess

from common import BIN, Checker, asset, run, scratch

model = asset("stories260K/stories260K.bin")
tok = asset("stories260K/tok512.bin")
text = asset("text/tinystories_first300.txt")
work = scratch()
c = Checker()


def write(name, body, mode="w"):
    path = os.path.join(work, name)
    with open(path, mode) as f:
        f.write(body)
    return path


def config(extra="", dataset=text, out="out"):
    return (f"base_model: {model}\ntokenizer_config: {tok}\nadapter: lora\nlora_r: 4\nlora_alpha: 8\n"
            f"lora_target_linear: true\nsequence_len: 64\nmicro_batch_size: 2\nmax_steps: 1\n"
            f"output_dir: {os.path.join(work, out)}\n{extra}datasets:\n  - path: {dataset}\n    type: completion\n")


def refused(what, args, expect, timeout=120):
    out, err, rc = run("train", *args, "--no-progress", check=False, timeout=timeout)
    c.check(rc == 1 and expect in err and "internal error" not in err,
            f"{what}: exit {rc}, '{expect}' in: {err.strip().splitlines()[-1] if err.strip() else ''}")


def with_key(key, value):
    lines = [l for l in config().splitlines() if not l.startswith(key + ":")]
    return "\n".join(lines[:2] + [f"{key}: {value}"] + lines[2:]) + "\n"


refused("lora_r 10^8", [write("r.yml", with_key("lora_r", "100000000"))], "lora_r")
refused("micro_batch_size 10^8", [write("mbs.yml", with_key("micro_batch_size", "100000000"))], "micro_batch_size")
refused("plan over --max-memory", [write("ok.yml", config()), "--max-memory", "64K"], "AdamW moments")
c.check(not os.path.exists(os.path.join(work, "out")), "a refused run writes nothing")
refused("bad --max-memory", [write("ok2.yml", config()), "--max-memory", "lots"], "--max-memory")

# trainer_state.json with "format": 5 under --resume.
ckpt = os.path.join(work, "checkpoint-1")
os.makedirs(ckpt)
write("checkpoint-1/trainer_state.json", json.dumps({"format": 5, "step": 1}))
refused("format 5 under --resume", [write("resume.yml", config()), "--resume", ckpt], "format must be a string")

fifo = os.path.join(work, "pipe.txt")
os.mkfifo(fifo)
refused("dataset FIFO", [write("fifo.yml", config(dataset=fifo))], "FIFO", timeout=60)
os.makedirs(os.path.join(work, "empty"))
refused("dataset empty folder", [write("empty.yml", config(dataset=os.path.join(work, "empty")))], "holds no")

# Mutated configs: whatever the damage, a message and exit 1.
hostile = {
    "deep": config().replace("lora_r: 4", "lora_r: " + "[" * 5000 + "]" * 5000),
    "utf8": config().replace("adapter: lora", "adapter: \xff\xfe lora"),
    "types": config().replace("lora_r: 4", "lora_r: {a: [1, 2]}").replace("sequence_len: 64", "sequence_len: [64]"),
    "alias": config() + "bomb: &a [x, x, x, x]\nbomb2: &b [*a, *a, *a, *a]\nbomb3: [*b, *b, *b, *b]\n",
    "nan": config().replace("lora_r: 4\nlora_alpha: 8", "lora_r: 4\nlora_alpha: .nan"),
    "negative": config().replace("max_steps: 1", "max_steps: -9223372036854775808"),
}
for name, body in hostile.items():
    path = write(f"hostile-{name}.yml", body.encode("latin-1"), "wb")  # latin-1: \xff stays one invalid byte
    out, err, rc = run("train", path, "--no-progress", check=False, timeout=120)
    c.check(rc in (0, 1) and "internal error" not in err and err.strip() != "", f"hostile config {name}: exit {rc}")

# convert to a folder: a killed run's temporary (its process gone) is cleaned, and the
# folder appears complete with no temporary left beside it.
dead = subprocess.Popen(["true"])
dead.wait()
stale = os.path.join(work, f"hf.tmp.{dead.pid}.0badf00d")
os.makedirs(stale)
write(os.path.join(stale, "config.json"), "{}")
out, err, rc = run("convert", model, os.path.join(work, "hf"), "--tokenizer", tok, check=False)
c.check(rc == 0 and os.path.exists(os.path.join(work, "hf", "config.json")), f"convert to a folder: exit {rc} {err[-300:]}")
c.check(not os.path.exists(stale), "a dead run's temporary folder is removed")
c.check(not [n for n in os.listdir(work) if ".tmp." in n], "no temporaries left after convert")
c.done()
