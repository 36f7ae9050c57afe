"""The story_roleplay dataset type through the real binary: `limarp prepare` turns TinyStories
text into narrated LimaRP conversations with replies at every length level, mixed in one config
with the hand-written roleplay fixtures; previews show the standard prompt with labels and the
loss mask; the same seed gives the same data; bad story keys and unusable files are errors
naming the key or the file; `limarp train` runs two steps on the mix."""
import json
import os

from common import SOURCE, Checker, asset, run, scratch

model = asset("stories260K/stories260K.bin")
tok = asset("stories260K/tok512.bin")
text = asset("text/tinystories_sample_2MiB.txt")
fixtures = os.path.join(SOURCE, "tests", "fixtures", "limarp")
work = scratch()
c = Checker()
LEVELS = ["tiny", "short", "medium", "long", "huge", "humongous", "extreme", "unlimited"]


def write(name, body):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(body)
    return path


def config(name, story_keys, extra=""):
    return write(name, f"""base_model: {model}
tokenizer_config: {tok}
adapter: lora
lora_r: 4
lora_target_linear: true
sequence_len: 4096
max_steps: 2
seed: 3
output_dir: {os.path.join(work, name + '.out')}
{extra}datasets:
  - path: {text}
    type: story_roleplay
{story_keys}  - path: {fixtures}
    type: limarp
""")


mixed = config("mixed.yml", "    story_replies: 4\n    story_max_conversations: 400\n    story_seed: 9\n")
out, _, _ = run("prepare", mixed, "--json", "--show", "1")
p = json.loads(out)
stories, limarp = p["datasets"]
c.check(stories["type"] == "story_roleplay" and limarp["type"] == "limarp", "prepare: both types in one config")
c.check(stories["records"] == 400 and stories["samples"] + stories["dropped_too_long"] == 400,
        f"400 story conversations ({stories['samples']} within sequence_len)")
hist = stories["length_histogram"]
total = sum(hist.values())
c.check(total >= 1500, f"about four labelled replies per conversation ({total})")
c.check(all(hist[l] >= total / 8 * 0.8 for l in LEVELS), f"every level near an equal share: {hist}")
c.check(limarp["samples"] == 3, "the hand-written conversations are still there")
preview = p["previews"][0]["text"]
c.check(preview.startswith("<s>### Instruction:\n") and "'s Persona: " in preview and "\n\nScenario: " in preview,
        "preview: the LimaRP instruction block")
c.check("### Input:\n" in preview and "### Response: (length = " in preview, "preview: input and labelled responses")
c.check("«" in preview, "preview: replies marked as trained")

again, _, _ = run("prepare", mixed, "--json", "--show", "1")
c.check(json.loads(again)["previews"] == p["previews"], "the same seed gives the same conversations")
reseeded = write("reseeded.yml", open(mixed).read().replace("story_seed: 9", "story_seed: 10"))
out, _, _ = run("prepare", reseeded, "--json", "--show", "1")
c.check(json.loads(out)["previews"] != p["previews"], "another seed gives other conversations")

weighted = config("weighted.yml", "    story_levels: [short, extreme]\n    story_level_weights: [3, 1]\n"
                  "    story_max_conversations: 200\n")
out, _, _ = run("prepare", weighted, "--json", "--show", "0")
h = json.loads(out)["datasets"][0]["length_histogram"]
share = h["short"] / max(1, h["short"] + h["extreme"])
c.check(abs(share - 0.75) < 0.03, f"story_level_weights 3:1 gives short 75% of short+extreme ({share:.3f}, {h})")
c.check(h["short"] + h["extreme"] >= 0.97 * sum(h.values()), f"few replies miss the requested levels: {h}")

bad_cases = [
    ("    story_replies: 0\n", "story_replies"),
    ("    story_levels: [tiny, gigantic]\n", "gigantic"),
    ("    story_levels: [tiny, long]\n    story_level_weights: [1]\n", "story_level_weights"),
    ("    story_level_weights: [1, 1, 1, 1, 1, 1, 1, -2]\n", "story_level_weights[7]"),
    ("    story_max_reply_length: 250\n", "story_max_reply_length"),
    ("    story_max_conversations: -1\n", "story_max_conversations"),
]
for i, (keys, key) in enumerate(bad_cases):
    _, err, rc = run("prepare", config(f"bad{i}.yml", keys), check=False)
    c.check(rc != 0 and key in err and f"bad{i}.yml" in err, f"bad value: error names {key}: {err.strip()[-160:]}")
limarp_with_story_key = write("limarp-key.yml", open(mixed).read().replace("    type: limarp\n",
                                                                            "    type: limarp\n    story_seed: 1\n"))
_, err, rc = run("prepare", limarp_with_story_key, check=False)
c.check(rc != 0 and "story_seed applies only to story_roleplay" in err, "a story key on a limarp dataset is refused")

no_sentences = write("list.txt", "apples\npears\n")
_, err, rc = run("prepare", write("list.yml", open(mixed).read().replace(text, no_sentences)), check=False)
c.check(rc != 0 and "no sentence ends" in err and "list.txt" in err, f"a file without sentences: {err.strip()[-160:]}")

small = config("small.yml", "    story_max_conversations: 12\n")
out, _, _ = run("train", small, "-t", "2")
summary = json.loads(out.strip().splitlines()[-1])
c.check(summary["steps"] == 2, "train runs on the mixed datasets")
c.done()
