#!/usr/bin/env bash
# Builds the bundled demo model (models/limarp-demo/) from scratch with limarp alone, the way
# the LimaRP card builds its adapter, at toy scale:
#   1. a SentencePiece BPE tokenizer (Debian's spm_train) on the TinyStories sample + fixtures
#   2. a small Llama (5.25 M parameters) pretrained from random weights, one epoch over the 17 MiB
#      of TinyStories in ../shared/assets/text (full-parameter; never the held-out file)
#   3. pass 1: a LoRA on stories (completion)
#   4. pass 2: the LoRA continued on roleplay with length labels: stories told as narrated
#      roleplay (story_roleplay: about 600 replies per level, the signal that the label decides
#      the length) and the hand-written fixtures (personas, turn-taking), every 10th fixture
#      conversation held out for the evaluation
#   5. merge pass 1+2 into the base, quantize to q8_0; the same without pass 2 for comparison
#   6. eval-length (three seeds) and perplexity on held-out stories, written next to the model
#   7. a draft model for speculative decoding (docs/performance.md): a 0.66 M-parameter Llama
#      with the demo model's tokenizer, trained on TinyStories and on the demo model's own
#      replies to the fixtures' prompts (what it learns to guess is what the model writes)
# About 70 minutes on a 2-core machine (pretraining 26-33, pass 2 18, evaluation 6, the draft 11).
# Stages whose output exists are skipped, so a stopped build continues; --fresh starts over.
# Work files go to build/demo-model/. OLD_MODEL=FILE (a copy of the model being replaced: stage 5
# overwrites the bundled file) also measures it on the held-out stories, for the card.
#
#   scripts/build_demo_model.sh [--fresh] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
threads=$(nproc)
fresh=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) fresh=1 ;;
    --threads) threads=$2; shift ;;
    -h|--help) sed -n '2,/^#   scripts\/build_demo_model.sh/p' "$0" | cut -c3-; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

assets=${LIMARP_ASSETS:-$root/../shared/assets}
stories=$assets/text/tinystories_sample_2MiB.txt
more_stories=$assets/text/tinystories_more_15MiB.txt
for f in "$stories" "$more_stories"; do
  [ -f "$f" ] || { echo "missing $f (the shared test assets)" >&2; exit 1; }
done
work=$root/build/demo-model
out=$root/models/limarp-demo
[ $fresh = 1 ] && rm -rf "$work"
mkdir -p "$work" "$out"

if [ ! -x build/release/bin/limarp ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$threads" --target limarp
fi
limarp=${LIMARP_BIN:-$root/build/release/bin/limarp}
stage() { echo; echo "== $(date +%H:%M:%S) $*"; }

# The fixtures split: every 10th conversation is held out (evaluation), the rest trains.
if [ ! -d "$work/roleplay-train" ]; then
  mkdir -p "$work/roleplay-train" "$work/roleplay-heldout"
  i=0
  for f in data/roleplay/*.yaml; do
    i=$((i + 1))
    if [ $((i % 10)) = 0 ]; then cp "$f" "$work/roleplay-heldout/"; else cp "$f" "$work/roleplay-train/"; fi
  done
fi

stage "1/7 tokenizer"
if [ ! -f "$work/tokenizer.model" ]; then
  /usr/bin/python3 scripts/fixture_text.py "$work/roleplay-train" "$work/fixtures.txt"
  spm_train --input="$stories,$work/fixtures.txt" --model_prefix="$work/tokenizer" --model_type=bpe \
    --vocab_size=2048 --byte_fallback=true --normalization_rule_name=identity \
    --remove_extra_whitespaces=false --split_digits=true --allow_whitespace_only_pieces=true \
    --character_coverage=1.0 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
    --num_threads="$threads" --minloglevel=2
fi

# Axolotl-style configs for the three training runs.
cat >"$work/pretrain.yml" <<YAML
# Full-parameter pretraining of the random model on TinyStories: one pass over all 17 MiB.
base_model: $work/init.gguf
adapter:
sequence_len: 512
sample_packing: true
micro_batch_size: 8
num_epochs: 1
learning_rate: 0.002
lr_scheduler: cosine
warmup_steps: 50
weight_decay: 0.1
max_grad_norm: 1.0
seed: 1
val_set_size: 0.005
output_dir: $work/pretrain
datasets:
  - path: $stories
    type: completion
  - path: $more_stories
    type: completion
YAML
cat >"$work/pass1.yml" <<YAML
# Pass 1 (the card's stories pass): a LoRA on stories as completion.
base_model: $work/pretrain/model.gguf
adapter: lora
lora_r: 64
lora_alpha: 64
lora_dropout: 0.05
lora_target_linear: true
sequence_len: 512
sample_packing: true
micro_batch_size: 8
num_epochs: 1
learning_rate: 0.0005
lr_scheduler: constant
seed: 1
val_set_size: 0.02
output_dir: $work/pass1
datasets:
  - path: $assets/text/tinystories_first300.txt
    type: completion
YAML
cat >"$work/pass2.yml" <<YAML
# Pass 2 (the card's roleplay pass): the pass-1 adapter continued on LimaRP-format
# conversations, every reply header labelled with its length (data/roleplay/README.md's bands).
# The fixtures have only ~57 written replies per level from long up, too few for the label to
# decide the length; stories told as narrated roleplay (story_roleplay, docs/training.md) give
# about 600 per level. The fixtures teach personas and turn-taking, each conversation also
# trained from each later user turn on (opening_crops) and with its replies cut shorter twice
# (truncated_copies). stop_choice_weight stresses the decision to stop or go on at every
# sentence end. One epoch: more let the model memorise the replies' text instead.
base_model: $work/pretrain/model.gguf
adapter: lora
lora_model_dir: $work/pass1
lora_dropout: 0.0
sequence_len: 2048
micro_batch_size: 1
gradient_accumulation_steps: 4
num_epochs: 1
learning_rate: 0.002
lr_scheduler: cosine
warmup_steps: 10
seed: 1
val_set_size: 8
output_dir: $work/pass2
datasets:
  - path: $more_stories
    type: story_roleplay
    length_unit: words
    length_thresholds: [12, 30, 60, 100, 150, 220, 300]
    length_labels: every_reply
    story_replies: 4
    story_max_conversations: 1200
    stop_choice_weight: 15
  - path: $work/roleplay-train
    type: limarp
    length_unit: words
    length_thresholds: [12, 30, 60, 100, 150, 220, 300]
    length_labels: every_reply
    opening_crops: true
    truncated_copies: 2
    stop_choice_weight: 15
YAML

stage "2/7 pretraining (full-parameter)"
if [ ! -f "$work/pretrain/model.gguf" ]; then
  "$limarp" init "$work/init.gguf" --shape tiny --tokenizer "$work/tokenizer.model" \
    --dim 256 --hidden 768 --layers 6 --heads 8 --kv-heads 4 --ctx 2048 --seed 1
  "$limarp" train "$work/pretrain.yml" -t "$threads" | tee "$work/pretrain.json"
fi

stage "3/7 pass 1: LoRA on stories"
if [ ! -f "$work/pass1/adapter_model.safetensors" ]; then
  "$limarp" train "$work/pass1.yml" -t "$threads" | tee "$work/pass1.json"
fi

stage "4/7 pass 2: LoRA on roleplay conversations"
if [ ! -f "$work/pass2/adapter_model.safetensors" ]; then
  "$limarp" train "$work/pass2.yml" -t "$threads" | tee "$work/pass2.json"
fi
# Sample counts (with the length variants) for the model card.
"$limarp" -q prepare "$work/pass2.yml" --show 0 --json >"$work/pass2-data.json"

stage "5/7 merge and quantize"
"$limarp" merge -m "$work/pretrain/model.gguf" --lora "$work/pass2" -o "$work/limarp-demo.gguf" --type q8_0
"$limarp" merge -m "$work/pretrain/model.gguf" --lora "$work/pass1" -o "$work/without-pass2.gguf" --type q8_0
cp "$work/limarp-demo.gguf" "$out/limarp-demo.gguf.tmp" && mv "$out/limarp-demo.gguf.tmp" "$out/limarp-demo.gguf"

stage "6/7 evaluation"
# The demo model with three seeds, 64 replies per level each (what the card reports), and the
# model without pass 2 for comparison, side by side on half the threads each.
pids=()
for seed in 1 2 3; do
  "$limarp" eval-length -m "$work/limarp-demo.gguf" --chats "$work/roleplay-heldout" --replies 64 --seed "$seed" \
    -n 640 -t $(( threads > 1 ? threads / 2 : 1 )) --md "$work/limarp-demo-length-s$seed.md" \
    --svg "$work/limarp-demo-length-s$seed.svg" --json | tail -1 >"$work/limarp-demo-length-s$seed.json" &
  pids+=($!)
  if [ "$seed" = 1 ]; then
    "$limarp" eval-length -m "$work/without-pass2.gguf" --chats "$work/roleplay-heldout" --replies 64 --seed 1 \
      -n 640 -t $(( threads > 1 ? threads / 2 : 1 )) --md "$work/without-pass2-length.md" \
      --svg "$work/without-pass2-length.svg" --json | tail -1 >"$work/without-pass2-length.json"
  fi
  for p in "${pids[@]}"; do wait "$p"; done  # each wait returns its job's status
  pids=()
done
# Sample replies for the card: demo.sh's scripted chat (the same line at tiny, medium and huge).
"$limarp" chat -m "$work/limarp-demo.gguf" --load "$out/demo-chat.json" --seed 1 -n 400 --show-words -t "$threads" \
  <"$out/demo-script.txt" >"$work/samples.txt"
# Perplexity on the 644 held-out stories (never trained on), this model and, when given as
# OLD_MODEL, the one it replaces.
"$limarp" perplexity -m "$work/limarp-demo.gguf" -f "$assets/text/tinystories_heldout.txt" --ctx 512 -t "$threads" \
  --json | tail -1 >"$work/perplexity-heldout.json"
if [ -n "${OLD_MODEL:-}" ]; then
  "$limarp" perplexity -m "$OLD_MODEL" -f "$assets/text/tinystories_heldout.txt" --ctx 512 -t "$threads" \
    --json | tail -1 >"$work/perplexity-heldout-old.json"
fi

stage "7/7 draft model for speculative decoding"
if [ ! -f "$work/draft/model.gguf" ]; then
  /usr/bin/python3 scripts/draft_corpus.py "$limarp" "$work/limarp-demo.gguf" "$work/fixtures.txt" \
    "$work/draft-corpus.txt" --passes 3 --jobs "$threads"
  "$limarp" init "$work/draft-init.gguf" --shape tiny --tokenizer "$work/limarp-demo.gguf" \
    --dim 128 --hidden 384 --layers 2 --heads 4 --kv-heads 2 --ctx 2048 --seed 2
  cat >"$work/draft.yml" <<YAML
# The draft: full-parameter training on stories and on the demo model's own replies.
base_model: $work/draft-init.gguf
adapter:
sequence_len: 512
sample_packing: true
micro_batch_size: 8
num_epochs: 3
learning_rate: 0.003
lr_scheduler: cosine
warmup_steps: 30
weight_decay: 0.1
max_grad_norm: 1.0
seed: 1
val_set_size: 0.01
output_dir: $work/draft
datasets:
  - path: $stories
    type: completion
  - path: $work/draft-corpus.txt
    type: completion
YAML
  "$limarp" train "$work/draft.yml" -t "$threads" | tee "$work/draft.json"
fi
"$limarp" convert "$work/draft/model.gguf" "$out/limarp-demo-draft.gguf" --type q8_0  # written atomically
"$limarp" bench -m "$out/limarp-demo.gguf" -p 0 -n 128 -r 5 --no-bandwidth -t "$threads" --json \
  --draft-model "$out/limarp-demo-draft.gguf" --draft-n 2 | tail -1 >"$work/draft-bench.json"

echo
echo "model: $out/limarp-demo.gguf ($(du -h "$out/limarp-demo.gguf" | cut -f1)); reports in $work"
/usr/bin/python3 scripts/demo_model_card.py "$work"
