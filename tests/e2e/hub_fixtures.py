"""Small repositories for the Hub tests, made by limarp itself: a tiny random Llama as GGUF
(F32 and Q8_0), as a Transformers folder, and a PEFT adapter stored as adapter_model.bin."""
import json
import os
import struct
import subprocess

from common import BIN, run
from hub_server import Repo


def limarp(env, *args):
    """Runs limarp with the HF_* variables of `env` only (none leak in from the caller's shell)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    full.update(env)
    p = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, timeout=120, env=full)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def why(rc, err):
    """The end of stderr for a failed command's check message; nothing when it worked."""
    return "" if rc == 0 else f" (exit {rc}: {err.strip()[-300:]})"


def safetensors_to_bin(src, dst):
    """Rewrites a safetensors file as a PyTorch zip checkpoint (what older PEFT adapters ship)."""
    script = r"""
import json, struct, sys, torch
src, dst = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
types = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
out = {}
for name, t in header.items():
    if name == "__metadata__":
        continue
    a, b = t["data_offsets"]
    out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=types[t["dtype"]]).reshape(t["shape"]).clone()
torch.save(out, dst)
"""
    subprocess.run(["/usr/bin/python3", "-c", script, src, dst], check=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def folder_files(folder):
    return {name: read(os.path.join(folder, name)) for name in sorted(os.listdir(folder))}


def build(tmp):
    """Returns (repos, local) where local maps names to the same files on disk."""
    gguf = os.path.join(tmp, "tiny.gguf")
    q8 = os.path.join(tmp, "tiny-q8.gguf")
    hf = os.path.join(tmp, "tiny-hf")
    lora = os.path.join(tmp, "lora-st")
    lora_bin = os.path.join(tmp, "lora-bin")
    run("init", gguf, "--shape", "tiny")
    run("quantize", gguf, q8, "--type", "q8_0")
    run("convert", gguf, hf)
    run("init-lora", "-m", hf, lora, "--rank", "4")
    os.makedirs(lora_bin)
    with open(os.path.join(lora, "adapter_config.json"), "rb") as f:
        config = f.read()
    with open(os.path.join(lora_bin, "adapter_config.json"), "wb") as f:
        f.write(config)
    safetensors_to_bin(os.path.join(lora, "adapter_model.safetensors"), os.path.join(lora_bin, "adapter_model.bin"))

    readme = b"# a test repository\n"
    repos = [
        Repo("limarp-test/tiny-GGUF", {"tiny.F32.gguf": read(gguf), "tiny.Q8_0.gguf": read(q8), "README.md": readme,
                                       ".gitattributes": b"*.gguf filter=lfs\n"}),
        Repo("limarp-test/split-GGUF", {"tiny-Q4_K_M-00001-of-00002.gguf": b"shard one " * 100,
                                        "tiny-Q4_K_M-00002-of-00002.gguf": b"shard two " * 100,
                                        "tiny-Q8_0.gguf": b"not this one", "README.md": readme}),
        Repo("limarp-test/tiny-hf", dict(folder_files(hf), **{"README.md": readme, "original/params.json": b"{}"})),
        Repo("limarp-test/tiny-lora", dict(folder_files(lora_bin), **{"README.md": readme})),
        Repo("limarp-gated/tiny-GGUF", {"tiny.Q8_0.gguf": read(q8), "README.md": readme}, gated=True),
    ]
    local = {"gguf": gguf, "q8": q8, "hf": hf, "lora_bin": lora_bin}
    return repos, local
