#!/usr/bin/env python3
"""Writes the demo model's card (models/limarp-demo/README.md) and its evaluation page
(docs/demo-model-eval.md, with the two SVG charts) from the reports that
scripts/build_demo_model.sh leaves in build/demo-model/. Every number comes from those files.

  scripts/demo_model_card.py [WORK_DIR]
"""
import json
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_json(path):
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def table(md_path):
    """The Markdown table of an eval-length report, without its heading lines."""
    with open(md_path) as f:
        return "\n".join(line for line in f.read().splitlines() if line.startswith("|"))


def spearman(md_path):
    with open(md_path) as f:
        m = re.search(r"mean words: (-?[0-9.]+)", f.read())
    return float(m.group(1)) if m else float("nan")


def yaml_number(path, key):
    """A top-level number from one of the build's generated training configs."""
    with open(path) as f:
        m = re.search(rf"^{key}: *([0-9.]+)", f.read(), re.M)
    return float(m.group(1)) if m else float("nan")


def replies_per_level(md_path):
    """The n column of the first row of an eval-length table."""
    rows = [line for line in table(md_path).splitlines() if not line.startswith("|---")]
    return int(rows[1].split("|")[2])


def draft_section(work):
    """The draft model's paragraph, from stage 7's training summary and speculative bench."""
    draft = load_json(os.path.join(work, "draft.json"))
    bench = os.path.join(work, "draft-bench.json")
    measured = ""
    if os.path.exists(bench):
        spec = load_json(bench)["speculative"]
        kept = 100 * spec["accepted"] / max(spec["drafted"], 1)
        measured = f"""
Greedy on bench's roleplay prompt ({len(spec['plain_tok_s'])} alternated pairs, `{spec['source']}`):
{kept:.0f} % of the guesses kept, speculative / plain speed {spec['median_ratio']:.2f}, the same tokens as
plain decoding. A model this small is not bound by memory bandwidth, so speculative decoding does
not make it faster (docs/performance.md, "Speculative decoding", explains when it does)."""
    return f"""## Draft model

`limarp-demo-draft.gguf` (q8_0, {os.path.getsize(os.path.join(ROOT, 'models', 'limarp-demo', 'limarp-demo-draft.gguf')) / 2**20:.1f} MiB) is a 0.66 M-parameter Llama (2 layers, width 128,
4 heads with 2 key/value heads) with the demo model's tokenizer, for speculative decoding
(`--draft-model models/limarp-demo/limarp-demo-draft.gguf`). Stage 7 of the build trains every
weight on the TinyStories sample and on the demo model's own replies to the training fixtures'
prompts (`scripts/draft_corpus.py`, three seeds each): {draft['steps']} steps, validation loss
{draft['first_eval_loss']:.3f} → {draft['last_eval_loss']:.3f}.{measured}
"""


BANDS = [("tiny", 0, 12), ("short", 13, 30), ("medium", 31, 60), ("long", 61, 100), ("huge", 101, 150),
         ("humongous", 151, 220), ("extreme", 221, 300), ("unlimited", 301, None)]
SEEDS = (1, 2, 3)


def band_text(lo, hi):
    return f"≤ {hi}" if lo == 0 else f"{lo}–{hi}" if hi else f"> {lo - 1}"


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "demo-model")
    pre = load_json(os.path.join(work, "pretrain.json"))
    p1 = load_json(os.path.join(work, "pass1.json"))
    p2 = load_json(os.path.join(work, "pass2.json"))
    ppl = load_json(os.path.join(work, "perplexity-heldout.json"))["perplexity"]
    old_path = os.path.join(work, "perplexity-heldout-old.json")
    ppl_old = load_json(old_path)["perplexity"] if os.path.exists(old_path) else None
    p2_epochs = yaml_number(os.path.join(work, "pass2.yml"), "num_epochs")
    truncated = yaml_number(os.path.join(work, "pass2.yml"), "    truncated_copies")
    stop_weight = yaml_number(os.path.join(work, "pass2.yml"), "    stop_choice_weight")
    stories2, fixtures2 = load_json(os.path.join(work, "pass2-data.json"))["datasets"][:2]
    runs = {seed: load_json(os.path.join(work, f"limarp-demo-length-s{seed}.json")) for seed in SEEDS}
    rhos = [runs[seed]["spearman"] for seed in SEEDS]
    n_replies = replies_per_level(os.path.join(work, "limarp-demo-length-s1.md"))
    rho0 = spearman(os.path.join(work, "without-pass2-length.md"))
    model = os.path.join(ROOT, "models", "limarp-demo", "limarp-demo.gguf")
    size_mib = os.path.getsize(model) / 2**20
    shutil.copyfile(os.path.join(work, "limarp-demo-length-s1.svg"), os.path.join(ROOT, "docs", "demo-limarp-demo-length.svg"))
    shutil.copyfile(os.path.join(work, "without-pass2-length.svg"), os.path.join(ROOT, "docs", "demo-without-pass2-length.svg"))

    # Medians against each level's band, per seed; the long levels must outrun huge.
    rows, outside = [], []
    for i, (name, lo, hi) in enumerate(BANDS):
        levels = [runs[seed]["levels"][i] for seed in SEEDS]
        medians = [l["median_words"] for l in levels]
        means = [l["mean_words"] for l in levels]
        imp = max(l["impersonation_share"] for l in levels)
        if hi is not None and name != "humongous" and name != "extreme":
            bad = [m for m in medians if m < lo or m > hi]
        else:
            huge_means = [runs[seed]["levels"][4]["mean_words"] for seed in SEEDS]
            bad = [m for m, h in zip(means, huge_means) if m <= h]
        if bad:
            outside.append(name)
        rows.append(f"| {name} | {band_text(lo, hi)} | {' / '.join(f'{m:.0f}' for m in medians)} | "
                    f"{' / '.join(f'{m:.0f}' for m in means)} | {100 * imp:.0f} % |")
    bands_table = ("| level | band (words) | median words, seeds 1 / 2 / 3 | mean words | impersonation (worst seed) |\n"
                   "|---|---|---|---|---|\n" + "\n".join(rows))

    losses = f"""| run | data | steps | validation loss before → after | tokens/s (2 threads) |
|---|---|---:|---|---:|
| pretraining (every weight) | TinyStories, 17 MiB (the sample and `tinystories_more_15MiB.txt`), 1 epoch | {pre['steps']} | {pre['first_eval_loss']:.3f} → {pre['last_eval_loss']:.3f} | {pre['tokens_per_s']:.0f} |
| pass 1: LoRA, stories | first 300 TinyStories, 1 epoch | {p1['steps']} | {p1['first_eval_loss']:.3f} → {p1['last_eval_loss']:.3f} | {p1['tokens_per_s']:.0f} |
| pass 2: LoRA, roleplay | {stories2['samples']} story conversations (`story_roleplay`) + {fixtures2['records']} fixture conversations with {fixtures2['derived_samples']} variants, {p2_epochs:g} epoch{'s' if p2_epochs != 1 else ''} | {p2['steps']} | {p2['first_eval_loss']:.3f} → {p2['last_eval_loss']:.3f} | {p2['tokens_per_s']:.0f} |"""

    in_bands = ("Every level's median from tiny to huge lies inside its band with all three seeds, and humongous, "
                "extreme and unlimited each average more words than huge." if not outside else
                f"Outside their band (median, tiny to huge) or not above huge (mean, humongous and up) in at least "
                f"one seed: {', '.join(outside)}.")
    evals = f"""Replies at the start of the 16 held-out conversations (every 10th fixture, never trained on),
{n_replies} replies per level for each of three evaluation seeds, the card's sampler settings
(temperature 0.8, TFS 0.95, repetition penalty 1.08), at most 640 tokens per reply.

**The demo model (both passes)** — Spearman ρ between level and mean words, seeds 1, 2, 3:
**{rhos[0]:.3f}, {rhos[1]:.3f}, {rhos[2]:.3f}**

{bands_table}

{in_bands}

Seed 1 in full:

{table(os.path.join(work, 'limarp-demo-length-s1.md'))}

![reply lengths per level, demo model](demo-limarp-demo-length.svg)

**The same pipeline without pass 2** (pretraining + pass 1 only), seed 1 — Spearman ρ: **{rho0:.3f}**

{table(os.path.join(work, 'without-pass2-length.md'))}

![reply lengths per level, without pass 2](demo-without-pass2-length.svg)"""

    with open(os.path.join(work, "samples.txt")) as f:
        samples = f.read().strip()
    old = f" (the model it replaced: {ppl_old:.2f})" if ppl_old else ""
    perplexity = (f"{ppl:.2f} per token of its 2048-piece vocabulary on `tinystories_heldout.txt` (644 stories "
                  f"never trained on, window 512){old}.")

    with open(os.path.join(ROOT, "docs", "demo-model-eval.md"), "w") as f:
        f.write(f"""# The demo model's length control

`limarp eval-length` on the bundled demo model (`models/limarp-demo/`), as written by
`scripts/build_demo_model.sh` and `scripts/demo_model_card.py`.

{evals}

Perplexity: {perplexity}
See `docs/evaluation.md` for the method and for stories260K.
""")

    weak = (f"- Levels whose medians (tiny to huge) left their band, or whose means (humongous and up) did not pass "
            f"huge's, in at least one seed: {', '.join(outside)}.\n" if outside else "")
    with open(os.path.join(ROOT, "models", "limarp-demo", "README.md"), "w") as f:
        f.write(f"""# limarp-demo

A small LimaRP-style roleplay model made entirely by limarp, bundled so that `limarp chat`,
`limarp serve` and `limarp eval-length` work on first run. It writes simple children's-story
English, knows the LimaRP prompt format, and writes as long as the length level asks; it is a
demonstration of the pipeline, not a useful roleplay partner.

| | |
|---|---|
| file | `limarp-demo.gguf`, GGUF v3, q8_0 weights, tokenizer inside, {size_mib:.1f} MiB |
| architecture | Llama: 6 layers, width 256, 8 attention heads with 4 key/value heads (GQA), feed-forward 768, RoPE, tied embedding/output, context 2048 |
| parameters | 5.25 million |
| tokenizer | SentencePiece BPE, 2048 pieces, byte fallback, Llama-2 conventions (`<unk>` 0, `<s>` 1, `</s>` 2) |
| prompt | LimaRP's extended Alpaca format with `### Response: (length = LEVEL)` |
| licence | MIT (like limarp); trained on TinyStories (CDLA-Sharing-1.0) and limarp's own fixtures |

## How it was made

`scripts/build_demo_model.sh`, run on the project's 2-core VM, limarp alone:

1. Tokenizer: Debian's `spm_train` (BPE, 2048 pieces, byte fallback, no normalization) on the
   2 MiB TinyStories sample and the training fixtures rendered in the prompt format.
2. `limarp init` writes the random model with that tokenizer; `limarp train` pretrains every
   weight for one epoch on all 17 MiB of TinyStories in `../shared/assets/text` (never the
   held-out file): sequences of 512 packed 8 to a micro-batch, AdamW, learning rate 2e-3 with
   warmup and cosine decay, weight decay 0.1.
3. Pass 1 (the card's stories pass): a LoRA (r 64, alpha 64, all seven projections, dropout
   0.05) on the first 300 stories as a `completion` dataset.
4. Pass 2 (the card's roleplay pass): the same adapter continued (`lora_model_dir`) on
   conversations in the prompt format, every reply header labelled with its length in the
   fixtures' word bands (tiny ≤ 12, short ≤ 30, medium ≤ 60, long ≤ 100, huge ≤ 150,
   humongous ≤ 220, extreme ≤ 300, unlimited above):
   - {stories2['samples']} stories told as narrated roleplay (`story_roleplay`, docs/training.md): a
     listener's line, then a reply of whole consecutive sentences of a story, four exchanges
     per conversation, every level equally often, so each level has about 600 replies
     whose label is their real length;
   - the 144 training conversations of `data/roleplay` (every 10th of the 160 is held out) for
     personas and turn-taking, each also trained from each later user turn on
     (`opening_crops`) and {truncated:g} times with its replies cut to shorter levels
     (`truncated_copies`).
   Every place a reply could end also carries a binary "stop here or go on" loss weighted
   {stop_weight:g}x (`stop_choice_weight`). Micro-batches of 1 with 4 accumulation steps, learning
   rate 2e-3, cosine, {p2_epochs:g} epoch{'s' if p2_epochs != 1 else ''}.
5. `limarp merge` folds the adapter into the pretrained weights in f32 and stores q8_0.

{losses}

Tokens/s are as measured during the build that made the committed file on the 2-core VM (its
first 20 minutes of pretraining shared the machine with a test run); the whole script takes about
70 minutes there (pretraining 26-33, pass 1 under 1, pass 2 18, evaluation 6, the draft model 11).

## Length control

{evals.replace('](demo-', '](../../docs/demo-')}

## Sample replies

`scripts/demo.sh`'s scripted chat (seed 1, the card's sampler): two exchanges, then the same
line at tiny, medium and huge, each taken back (`/undo`) before the next.

```text
{samples}
```

{draft_section(work)}
## Perplexity

{perplexity}

## Limits

{weak}- Five million parameters trained on 17 MiB of stories and 144 short conversations: it loses
  the thread within a few sentences, invents words, and mixes up who is who. Its replies often
  narrate a story instead of answering the user's line or playing the scene: it learned the
  length control mostly from stories told as roleplay (the samples above show it).
- Single replies vary widely around their level's median (see the p10 and p90 columns).
- English only; the vocabulary of children's stories. Not tuned for safety beyond its data,
  which is written for all ages.
""")
    print(f"wrote models/limarp-demo/README.md and docs/demo-model-eval.md (rho {rhos}, without pass 2 {rho0:.3f})")


if __name__ == "__main__":
    main()
