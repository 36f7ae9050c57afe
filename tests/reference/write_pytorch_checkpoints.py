#!/usr/bin/python3
"""Writes real torch.save checkpoints, and hostile imitations of them, for limarp's safe loader.

Every good file is written by torch.save itself, so the C++ test reads exactly what users have
(PEFT adapter_model.bin, Hugging Face pytorch_model.bin). Each tensor's bytes, made contiguous
in its own dtype, go to a .raw file so the test compares every element bit for bit. Hostile
files are assembled here: pickles that name code-running globals (written by Python's own
pickler through __reduce__, exactly as an attacker would, but never loaded), hand-made opcode
streams with bad lengths, memo indices or nesting, and storages that do not fit their entries.
Nothing written here is ever unpickled.

Outputs, in OUT_DIR:
  *.bin                  checkpoints (good and hostile)
  hf/, hf_sharded/       Hugging Face folders with pytorch_model.bin (single and sharded)
  raw/*.raw              contiguous tensor bytes
  manifest.json          {"good": {file: [{name, dtype, shape, raw}]},
                          "hostile": [{file, expect}]}  (expect: a substring of the error)
Usage: write_pytorch_checkpoints.py OUT_DIR
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import torch

out = sys.argv[1]
os.makedirs(os.path.join(out, "raw"), exist_ok=True)
torch.manual_seed(7)
manifest = {"good": {}, "hostile": []}

DTYPE_NAMES = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
    torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8",
}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits through int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def flatten(prefix, obj, items):
    for k, v in obj.items():
        name = prefix + k
        if isinstance(v, dict):
            flatten(name + ".", v, items)
        elif isinstance(v, torch.Tensor):
            items.append((name, v))


def save_good(fname, obj, **kwargs):
    path = os.path.join(out, fname)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path, **kwargs)
    items = []
    flatten("", obj, items)
    entries = []
    for i, (name, t) in enumerate(items):
        raw = "raw/%s.%d.raw" % (fname.replace("/", "_"), i)
        with open(os.path.join(out, raw), "wb") as f:
            f.write(raw_bytes(t))
        entries.append({"name": name, "dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "raw": raw})
    manifest["good"][fname] = entries


# --- PEFT adapters as LimaRP publishes them: every projection of every layer, lora_A [r, in],
# lora_B [out, r]; PEFT saves a plain dict (get_peft_model_state_dict).
dim, ffn, kv_dim, r, n_layers = 16, 24, 8, 4, 2
shapes = {"self_attn.q_proj": (dim, dim), "self_attn.k_proj": (dim, kv_dim), "self_attn.v_proj": (dim, kv_dim),
          "self_attn.o_proj": (dim, dim), "mlp.gate_proj": (dim, ffn), "mlp.up_proj": (dim, ffn),
          "mlp.down_proj": (ffn, dim)}
peft = {}
for layer in range(n_layers):
    for proj, (fan_in, fan_out) in shapes.items():
        base = "base_model.model.model.layers.%d.%s" % (layer, proj)
        peft[base + ".lora_A.weight"] = torch.randn(r, fan_in)
        peft[base + ".lora_B.weight"] = torch.randn(fan_out, r)
for dtype, suffix in [(torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")]:
    save_good("peft_%s.bin" % suffix, {k: v.to(dtype) for k, v in peft.items()})
save_good("peft_ordered.bin", collections.OrderedDict((k, v.half()) for k, v in peft.items()))
save_good("peft_proto4.bin", {k: v.half() for k, v in peft.items()}, pickle_protocol=4)
save_good("peft_proto5.bin", {k: v.bfloat16() for k, v in peft.items()}, pickle_protocol=5)

# --- A module's state_dict(): an OrderedDict whose _metadata attribute arrives through BUILD;
# with keep_vars=True its values are Parameters (torch._utils._rebuild_parameter).
module = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.LayerNorm(3))
save_good("module_state.bin", module.state_dict())
save_good("module_params.bin", module.state_dict(keep_vars=True))

# --- Layouts: views, strides, offsets, scalars and element types.
shared = torch.arange(64, dtype=torch.float32) * 0.5 - 3
layouts = collections.OrderedDict()
layouts["shared_base"] = shared
layouts["view_offset"] = shared[10:22].view(3, 4)        # contiguous at storage offset 10
layouts["slice_cols"] = shared.view(8, 8)[:, 2:5]         # strided, offset 2
layouts["transposed"] = torch.randn(5, 7).t()             # stride [1, 7]
layouts["transposed_bf16"] = torch.randn(6, 3).bfloat16().t()
layouts["permuted"] = torch.randn(2, 3, 4).permute(2, 0, 1)
layouts["expanded"] = torch.randn(3, 1).expand(3, 4)      # stride [1, 0]
layouts["size1_odd_stride"] = torch.randn(6, 1).t()       # [1, 6], stride [1, 1]: still contiguous
layouts["scalar"] = torch.tensor(2.5)
layouts["scalar_f16"] = torch.tensor(-1.5, dtype=torch.float16)
layouts["empty"] = torch.zeros(0, 3)
layouts["big_bf16"] = torch.randn(300, 70).bfloat16()     # BININT2 sizes
layouts["bigger_f16"] = torch.randn(70000).half()         # BININT sizes
layouts["f64"] = torch.randn(4, dtype=torch.float64)
layouts["i64"] = torch.arange(-5, 5)
layouts["i32"] = torch.arange(-3, 3, dtype=torch.int32)
layouts["i16"] = torch.tensor([-300, 7, 300], dtype=torch.int16)
layouts["i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
layouts["param"] = torch.nn.Parameter(torch.randn(2, 2))
layouts["nested"] = {"inner": {"w": torch.randn(2, 3)}, "b": torch.randn(3).half()}
layouts["epoch"] = 3                                      # bookkeeping beside tensors: skipped
layouts["note"] = "not a tensor"
save_good("layouts.bin", layouts)
# The same without the large tensors: a small seed for the C++ mutation test.
save_good("layouts_small.bin", collections.OrderedDict((k, v) for k, v in layouts.items() if not k.startswith("big")))

# --- Hugging Face folders with pytorch_model.bin (a tiny Llama's names and shapes).
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
          "intermediate_size": ffn, "num_hidden_layers": 1, "num_attention_heads": 2,
          "num_key_value_heads": 1, "vocab_size": 32, "max_position_embeddings": 64,
          "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False}
hf = collections.OrderedDict()
hf["model.embed_tokens.weight"] = torch.randn(32, dim)
for proj, (fan_in, fan_out) in shapes.items():
    hf["model.layers.0.%s.weight" % proj] = torch.randn(fan_out, fan_in)
hf["model.layers.0.input_layernorm.weight"] = torch.randn(dim)
hf["model.layers.0.post_attention_layernorm.weight"] = torch.randn(dim)
hf["model.norm.weight"] = torch.randn(dim)
hf["lm_head.weight"] = torch.randn(32, dim)
for folder in ["hf", "hf_sharded"]:
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    with open(os.path.join(out, folder, "config.json"), "w") as f:
        json.dump(config, f)
save_good("hf/pytorch_model.bin", hf)
names = list(hf)
shards = {"pytorch_model-00001-of-00002.bin": names[:5], "pytorch_model-00002-of-00002.bin": names[5:]}
weight_map = {}
for shard, keys in shards.items():
    save_good("hf_sharded/" + shard, {k: hf[k] for k in keys})
    weight_map.update({k: shard for k in keys})
with open(os.path.join(out, "hf_sharded", "pytorch_model.bin.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": weight_map}, f)

# --- Files limarp refuses for honest reasons.
torch.save({"w": torch.randn(3)}, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)
torch.save({"mask": torch.tensor([True, False])}, os.path.join(out, "bool_tensor.bin"))


def hostile(fname, expect):
    manifest["hostile"].append({"file": fname, "expect": expect})
    return os.path.join(out, fname)


# --- Code-running pickles, produced the way an attacker would: objects whose __reduce__ names
# a dangerous callable. Loading them with Python would run the command; limarp must refuse, and
# the test checks the marker file never appears.
marker = os.path.join(out, "PWNED")


class RunsCommand:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def torch_like_zip(path, pkl, storages=None, compress=False, prefix="archive", extra=None):
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as z:
        z.writestr(prefix + "/data.pkl", pkl)
        for key, data in (storages or {}).items():
            z.writestr(prefix + "/data/" + key, data)
        for name, data in (extra or {}).items():  # full entry names
            z.writestr(name, data)
        z.writestr(prefix + "/version", "3\n")


import pickle  # noqa: E402  (only ever used to *write*)
import subprocess  # noqa: E402

torch_like_zip(hostile("hostile_os_system.bin", "os.system"),
               b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len("touch " + marker)) +
               ("touch " + marker).encode() + b"\x85R.")
torch_like_zip(hostile("hostile_eval.bin", "builtins.eval"),
               pickle.dumps(RunsCommand(eval, "__import__('os').system('touch %s')" % marker), protocol=4))
torch_like_zip(hostile("hostile_eval_proto2.bin", "__builtin__.eval"),
               pickle.dumps(RunsCommand(eval, "__import__('os').system('touch %s')" % marker), protocol=2))
torch_like_zip(hostile("hostile_subprocess.bin", "subprocess.Popen"),
               pickle.dumps(RunsCommand(subprocess.Popen, ["touch", marker]), protocol=4))
# Inside a genuine torch.save file, after a legitimate tensor.
torch.save({"w": torch.randn(3), "payload": RunsCommand(os.system, "touch " + marker)},
           hostile("hostile_in_state_dict.bin", "posix.system"))
torch.save({"w": torch.randn(3), "payload": RunsCommand(os.system, "touch " + marker)},
           hostile("hostile_in_state_dict_proto4.bin", "posix.system"), pickle_protocol=4)


class Plain:
    pass


torch_like_zip(hostile("hostile_class_instance.bin", "__main__.Plain"), pickle.dumps({"x": Plain()}, protocol=2))

# --- Hand-assembled streams around one f32 storage "0" of 4 elements.
def text(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def int_op(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -2**31 <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def tup(values):
    return b"(" + b"".join(int_op(v) for v in values) + b"t"


def tensor_call(key="0", numel=4, offset=0, size=(4,), stride=(1,), storage_class="FloatStorage"):
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + text("storage") + b"ctorch\n" + storage_class.encode() + b"\n" + text(key) + text("cpu") +
            int_op(numel) + b"tQ" + int_op(offset) + tup(size) + tup(stride) +
            b"\x89ccollections\nOrderedDict\n)RtR")


def tensor_pickle(**kwargs):  # {"w": tensor}
    return b"\x80\x02}" + text("w") + tensor_call(**kwargs) + b"s."


four_floats = struct.pack("<4f", 1, 2, 3, 4)
# Python's zipfile neither aligns data nor uses data descriptors: a view there may be misaligned.
torch_like_zip(os.path.join(out, "handmade_ok.bin"), tensor_pickle(), {"0": four_floats})
with open(os.path.join(out, "raw", "handmade_ok.raw"), "wb") as f:
    f.write(four_floats)
manifest["good"]["handmade_ok.bin"] = [{"name": "w", "dtype": "f32", "shape": [4], "raw": "raw/handmade_ok.raw"}]
torch_like_zip(hostile("hostile_storage_numel.bin", "do not fit in entry"), tensor_pickle(numel=1000), {"0": four_floats})
torch_like_zip(hostile("hostile_storage_offset.bin", "reaches element"), tensor_pickle(offset=1), {"0": four_floats})
torch_like_zip(hostile("hostile_storage_stride.bin", "reaches element"),
               tensor_pickle(size=(2, 2), stride=(100, 1)), {"0": four_floats})
torch_like_zip(hostile("hostile_storage_missing.bin", "no entry archive/data/7"), tensor_pickle(key="7"),
               {"0": four_floats})
torch_like_zip(hostile("hostile_storage_negative_offset.bin", "storage offset is int -1"),
               tensor_pickle(offset=-1), {"0": four_floats})
torch_like_zip(hostile("hostile_storage_huge_size.bin", "implausibly large"),
               tensor_pickle(size=(2**40, 2**40), stride=(0, 0)), {"0": four_floats})
torch_like_zip(hostile("hostile_storage_overflow_stride.bin", "holds int"),
               tensor_pickle(size=(2, 2), stride=(2**62, 1)), {"0": four_floats})
torch_like_zip(hostile("hostile_storage_class.bin", "refusing global torch.UntypedStorage"),
               tensor_pickle(storage_class="UntypedStorage"), {"0": four_floats})
torch_like_zip(hostile("malformed_compressed.bin", "is compressed (deflate"), tensor_pickle(), {"0": four_floats},
               compress=True)
torch_like_zip(hostile("malformed_byteorder_big.bin", "big-endian"), tensor_pickle(), {"0": four_floats},
               extra={"archive/byteorder": "big"})
torch_like_zip(hostile("malformed_memo.bin", "memo index 9 was never stored"), b"\x80\x02h\x09.")
torch_like_zip(hostile("malformed_no_stop.bin", "without a STOP"), tensor_pickle()[:-1], {"0": four_floats})
torch_like_zip(hostile("malformed_underflow.bin", "stack underflow"), b"\x80\x02R.")
torch_like_zip(hostile("malformed_unknown_opcode.bin", "unknown opcode 0xff"), b"\x80\x02\xff.")
torch_like_zip(hostile("malformed_newobj.bin", "NEWOBJ"), b"\x80\x02})\x81.")
torch_like_zip(hostile("malformed_deep_marks.bin", "MARKs nested deeper"), b"\x80\x02" + b"(" * 100000 + b".")
torch_like_zip(hostile("malformed_deep_dicts.bin", "nested deeper than"),
               b"\x80\x02" + b"}" + b"".join(text("k%d" % i) + b"}" for i in range(20)) + b"s" * 20 + b".")
torch_like_zip(hostile("malformed_self_dict.bin", "appears more than once"),
               b"\x80\x02}q\x00" + text("me") + b"h\x00s.")
torch_like_zip(hostile("malformed_deep_tuples.bin", "not a dict of tensors"),
               b"\x80\x02N" + b"\x85" * 200000 + b".")
torch_like_zip(hostile("malformed_huge_string.bin", "string bytes"),
               b"\x80\x02X" + struct.pack("<I", 0xfffffff0) + b"abc")
torch_like_zip(hostile("malformed_huge_unicode8.bin", "string bytes"),
               b"\x80\x04\x8d" + struct.pack("<Q", 2**62) + b"abc")
torch_like_zip(hostile("malformed_huge_long4.bin", "does not fit in 64 bits"),
               b"\x80\x02\x8b" + struct.pack("<i", 2**30) + b"abc")
torch_like_zip(hostile("malformed_huge_frame.bin", "frame of"), b"\x80\x04\x95" + struct.pack("<Q", 2**40) + b"N.")
torch_like_zip(hostile("malformed_bad_utf8.bin", "UTF-8"), b"\x80\x02}X\x02\x00\x00\x00\xc3\x28N" + b"s.")
torch_like_zip(hostile("malformed_root_list.bin", "not a dict of tensors"), b"\x80\x02].")
torch_like_zip(hostile("malformed_duplicate_name.bin", "appears twice"),
               b"\x80\x02}(" + text("w") + tensor_call() + text("w") + tensor_call() + b"u.", {"0": four_floats})
torch_like_zip(hostile("malformed_two_archives.bin", "holds both"), tensor_pickle(), {"0": four_floats},
               extra={"other/data.pkl": b"\x80\x02}."})
with zipfile.ZipFile(hostile("malformed_no_data_pkl.bin", "no <folder>/data.pkl"), "w") as z:
    z.writestr("archive/model.pkl", b"\x80\x02}.")
    z.writestr("data.pkl", b"\x80\x02}.")

# Re-zipped real checkpoint: entries deflated.
with zipfile.ZipFile(os.path.join(out, "peft_f16.bin")) as src, \
        zipfile.ZipFile(hostile("malformed_rezipped.bin", "is compressed"), "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
# Truncated real checkpoint.
with open(os.path.join(out, "peft_f32.bin"), "rb") as f:
    data = f.read()
with open(hostile("truncated_peft.bin", "end-of-central-directory"), "wb") as f:
    f.write(data[: len(data) * 3 // 5])
manifest["hostile"].append({"file": "legacy.bin", "expect": "legacy torch.save format"})
manifest["hostile"].append({"file": "bool_tensor.bin", "expect": "torch.BoolStorage"})

with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
