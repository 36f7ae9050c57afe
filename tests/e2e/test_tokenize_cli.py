"""`limarp tokenize` / `limarp detokenize` on every kind of tokenizer file and on models,
checked against libsentencepiece (python3-sentencepiece) where it is installed."""
import os
import subprocess
import sys

from common import SOURCE, Checker, asset, last_json, run, scratch

c = Checker()
model = asset("llama2-tokenizer/tokenizer.model")
gguf_vocab = asset("llama-vocab/ggml-vocab-llama-spm.gguf")
llama2c_tok = asset("llama2-tokenizer/tokenizer.bin")

try:
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=model)
except ImportError:
    sp = None
    print("note: python3-sentencepiece missing; comparing with fixed ids only")

# Basic ids, BOS on by default, --no-bos, plain and --json output.
out, _, _ = run("tokenize", "--model", model, "--text", "Hello world", "--json")
c.check(last_json(out) == [1, 15043, 3186], "tokenizer.model: Hello world → [1, 15043, 3186]")
out, _, _ = run("tokenize", "--model", model, "--text", "Hello world", "--no-bos")
c.check(out.strip() == "15043 3186", "plain output, --no-bos")
out, _, _ = run("tokenize", "--model", model, "--text", " Hello", "--no-bos", "--json")
c.check(last_json(out) == [29871, 15043], "a leading space keeps the lone ▁ (29871)")

# --file with the LimaRP prompt format and many scripts, against libsentencepiece.
work = scratch()
prompt = ("### Instruction:\nCharacter's Persona: a bard 🎻 who speaks Ελληνικά and 日本語.\n\n"
          "### Input:\nUser: </s><s>[INST] hi  there\t!\n\n### Response: (length = medium)\nCharacter:")
prompt_path = os.path.join(work, "prompt.txt")
with open(prompt_path, "w", encoding="utf-8") as f:
    f.write(prompt)
out, _, _ = run("tokenize", "--model", model, "--file", prompt_path, "--json")
ids = last_json(out)
if sp:
    c.check(ids == [1] + sp.encode(prompt), "--file: LimaRP prompt ids equal libsentencepiece's")
c.check(2 not in ids and ids.count(1) == 1, "control-token text in user text stays plain text")
out, _, _ = run("tokenize", "--model", model, "--text", "hi</s>", "--parse-special", "--json")
c.check(last_json(out)[-1] == 2, "--parse-special reads </s> as EOS")

# The same ids from every file that holds the Llama-2 vocabulary.
for path in (gguf_vocab, llama2c_tok):
    out, _, _ = run("tokenize", "--model", path, "--file", prompt_path, "--json")
    c.check(last_json(out) == ids, f"{os.path.basename(path)} gives the same ids")

# A Hugging Face tokenizer.json folder, written from tokenizer.model.
hf_dir = os.path.join(work, "hf")
gen = subprocess.run([sys.executable, os.path.join(SOURCE, "tests", "tokenizer", "make_hf_tokenizer_json.py"),
                      model, hf_dir], capture_output=True)
if gen.returncode == 0:
    out, _, _ = run("tokenize", "--model", hf_dir, "--file", prompt_path, "--json")
    c.check(last_json(out) == ids, "tokenizer.json folder gives the same ids")
    out, _, _ = run("tokenize", "--model", os.path.join(hf_dir, "tokenizer.json"), "--text", "Hello world", "--json")
    c.check(last_json(out) == [1, 15043, 3186], "tokenizer.json file")
else:
    print("note: tokenizer.json generation skipped:", gen.stderr.decode(errors="replace").strip())

# --pieces: one line per token, then the JSON array.
out, _, _ = run("tokenize", "--model", model, "--text", "Hello world", "--pieces", "--json")
lines = out.strip().splitlines()
c.check(lines[:3] == ['1\t"<s>"', '15043\t"▁Hello"', '3186\t"▁world"'] and lines[-1] == "[1,15043,3186]",
        f"--pieces lists id and piece ({lines})")

# Models: the vocabulary inside a GGUF, and tok512.bin beside a llama2.c checkpoint.
for m in ("stories260K/stories260K.gguf", "stories260K/stories260K.bin"):
    out, _, _ = run("tokenize", "--model", asset(m), "--text", "Once upon a time", "--json")
    c.check(last_json(out) == [1, 403, 407, 261, 378], f"{m}: the model's tokenizer")

# detokenize: round trip, bytes joined into characters, the leading space rule.
text = "Ünïcödé 🦙 and\ttabs\n  spaces"
out, _, _ = run("tokenize", "--model", model, "--text", text, "--json")
round_ids = last_json(out)
out, _, _ = run("detokenize", "--model", model, "--ids", ",".join(map(str, round_ids)))
c.check(out[:-1] == text, "detokenize(tokenize(text)) == text")
out, _, _ = run("detokenize", "--model", model, "--ids", "1 29871 15043")
c.check(out == " Hello\n", "detokenize keeps a real leading space")
if sp:
    c.check(out[:-1] == sp.decode([1, 29871, 15043]), "detokenize agrees with libsentencepiece")

# Errors are messages and a non-zero status, not crashes.
_, err, rc = run("tokenize", "--model", model, check=False)
c.check(rc != 0 and "--text" in err, "tokenize without text is refused")
_, err, rc = run("tokenize", "--model", model, "--text", "a", "--file", prompt_path, check=False)
c.check(rc != 0, "--text and --file together are refused")
_, err, rc = run("detokenize", "--model", model, "--ids", "1,99999", check=False)
c.check(rc != 0 and "99999" in err, "an id outside the vocabulary is refused")
_, err, rc = run("tokenize", "--model", prompt_path, "--text", "a", check=False)
c.check(rc != 0 and "neither a tokenizer" in err, "a text file is neither a tokenizer nor a model")
c.done()
