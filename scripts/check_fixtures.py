#!/usr/bin/python3
"""Validate limarp's own roleplay fixtures (data/roleplay/*.yaml).

Each file is one conversation in LimaRP's YAML schema:

    personas: {<FIRST>: "...", <SECOND>: "..."}
    names:    {<FIRST>: Name, <SECOND>: Name}
    scenario: "..."
    conversation: [{name: <FIRST>|<SECOND>, text: "..."}, ...]

Rules (any broken rule makes the script exit 1):
  * the YAML parses and is a mapping with personas, names, scenario, conversation;
  * names maps <FIRST> and <SECOND> to non-empty, single-word, different names
    (single words keep word counts unchanged when placeholders are filled in);
  * personas has non-empty <FIRST> and <SECOND> descriptions; scenario is non-empty;
  * every turn has name <FIRST> or <SECOND> and a non-empty text;
  * turns alternate between the two sides, with at least 4 exchanges
    (at least 4 turns from each side);
  * the literal character names do not appear, in any letter case, in personas,
    scenario or texts (the placeholders are used instead). A name that is also a common English
    word (see COMMON_WORDS) only gives a warning;
  * across the corpus, every length level has at least MIN_PER_LEVEL <FIRST> replies.

Reply length is counted in words: whitespace-separated pieces of the text as
written (a placeholder is one word; punctuation and asterisks stick to their
word). The levels use the default thresholds shared with the training pipeline.

Usage: scripts/check_fixtures.py [DIR] [--list]
  --list   also print every <FIRST> reply's word count and level per file
           (~ marks a reply that 2 words or fewer would move to another level).
"""
import glob
import os
import re
import sys

import yaml

# Upper bound (inclusive) of words for each level; the last level is open-ended.
LEVELS = [
    ("tiny", 12),
    ("short", 30),
    ("medium", 60),
    ("long", 100),
    ("huge", 150),
    ("humongous", 220),
    ("extreme", 300),
    ("unlimited", None),
]
MIN_PER_LEVEL = 25
MIN_EXCHANGES = 4
SIDES = ("<FIRST>", "<SECOND>")

# Names that are also ordinary words: finding them in a text is only a warning.
COMMON_WORDS = {
    "rose", "hope", "joy", "grace", "faith", "sunny", "dawn", "ivy", "lily",
    "daisy", "holly", "max", "will", "mark", "bill", "jack", "pat", "sky",
    "river", "storm", "ash", "rusty", "buddy", "star", "sandy", "cloud",
    "berry", "honey", "pepper", "ginger", "button", "pebble", "patch",
}


def word_count(text):
    return len(text.split())


def level_of(words):
    for name, top in LEVELS:
        if top is None or words <= top:
            return name
    return LEVELS[-1][0]


def check_file(path, errors, warnings):
    """Return (names, scenario, [(turn index, words)] for <FIRST>, turn count) or None."""
    rel = os.path.basename(path)

    def err(msg):
        errors.append(f"{rel}: {msg}")

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        err(f"does not parse: {e}")
        return None
    if not isinstance(doc, dict):
        err("top level is not a mapping")
        return None
    missing = [k for k in ("personas", "names", "scenario", "conversation") if k not in doc]
    for key in missing:
        err(f"missing key '{key}'")
    extra = set(doc) - {"personas", "names", "scenario", "conversation"}
    if extra:
        err(f"unexpected keys {sorted(extra)}")
    if missing:
        return None

    names = doc["names"]
    personas = doc["personas"]
    scenario = doc["scenario"]
    conv = doc["conversation"]
    ok_names = {}
    if not isinstance(names, dict):
        err("names is not a mapping")
        names = {}
    for side in SIDES:
        n = names.get(side)
        if not isinstance(n, str) or not n.strip():
            err(f"names has no non-empty {side}")
            continue
        if len(n.split()) != 1:
            err(f"name {n!r} for {side} is not a single word")
        ok_names[side] = n.strip()
    if set(names) - set(SIDES):
        err(f"names has keys other than {SIDES}: {sorted(set(names) - set(SIDES))}")
    if len(ok_names) == 2 and ok_names["<FIRST>"] == ok_names["<SECOND>"]:
        err("both sides have the same name")

    if not isinstance(personas, dict):
        err("personas is not a mapping")
        personas = {}
    for side in SIDES:
        p = personas.get(side)
        if not isinstance(p, str) or not p.strip():
            err(f"personas has no non-empty {side}")
    if not isinstance(scenario, str) or not scenario.strip():
        err("scenario is empty")
        scenario = ""

    texts = [("personas " + s, personas.get(s) or "") for s in SIDES]
    texts.append(("scenario", scenario))

    first_words = []
    counts = {s: 0 for s in SIDES}
    if not isinstance(conv, list) or not conv:
        err("conversation is not a non-empty list")
        conv = []
    prev = None
    for i, turn in enumerate(conv, 1):
        if not isinstance(turn, dict) or set(turn) != {"name", "text"}:
            err(f"turn {i} is not a mapping with exactly 'name' and 'text'")
            continue
        side, text = turn["name"], turn["text"]
        if side not in SIDES:
            err(f"turn {i} has name {side!r}, not <FIRST> or <SECOND>")
            continue
        if not isinstance(text, str) or not text.strip():
            err(f"turn {i} has an empty text")
            continue
        if side == prev:
            err(f"turn {i} does not alternate ({side} twice in a row)")
        prev = side
        counts[side] += 1
        texts.append((f"turn {i}", text))
        if side == "<FIRST>":
            first_words.append((i, word_count(text)))
    exchanges = min(counts.values())
    if exchanges < MIN_EXCHANGES:
        err(f"only {exchanges} exchanges (need {MIN_EXCHANGES}: "
            f"{counts['<SECOND>']} <SECOND> turns, {counts['<FIRST>']} <FIRST> turns)")

    for side, n in ok_names.items():
        pat = re.compile(r"(?<![\w<])" + re.escape(n) + r"(?![\w>])", re.IGNORECASE)
        for where, text in texts:
            if pat.search(text):
                msg = f"{where} contains the literal name {n!r} (use {side})"
                if n.lower() in COMMON_WORDS:
                    warnings.append(f"{rel}: {msg} -- a common word, so only a warning")
                else:
                    err(msg)
    return ok_names, scenario.strip(), first_words, len(conv)


def margin(words):
    """How many words must be added or removed to move a reply to another level."""
    return min(top + 1 - words if words <= top else words - top
               for _, top in LEVELS if top is not None)


def near_edge(words):
    """True when 2 words or fewer would change a reply's level (shown as ~ by --list)."""
    return margin(words) <= 2


def main(argv):
    listing = "--list" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = args[0] if args else os.path.join(root, "data", "roleplay")
    files = sorted(glob.glob(os.path.join(folder, "*.yaml")))
    errors, warnings = [], []
    if not files:
        errors.append(f"no .yaml files in {folder}")
    characters, scenarios = set(), set()
    turns = 0
    hist = {name: 0 for name, _ in LEVELS}
    all_words = []
    for path in files:
        bad_before = len(errors)
        if not re.fullmatch(r"\d{3}-[a-z0-9-]+\.yaml", os.path.basename(path)):
            errors.append(f"{os.path.basename(path)}: file name is not NNN-short-slug.yaml")
        res = check_file(path, errors, warnings)
        if res is None:
            continue
        names, scenario, first_words, n = res
        characters.update(names.values())
        if scenario in scenarios:
            errors.append(f"{os.path.basename(path)}: scenario repeats another file's")
        scenarios.add(scenario)
        turns += n
        for _, w in first_words:
            hist[level_of(w)] += 1
            all_words.append(w)
        if listing:
            desc = " ".join(f"{w}:{level_of(w)}{'~' if near_edge(w) else ''}"
                            for _, w in first_words)
            flag = " !" if len(errors) > bad_before else ""
            print(f"{os.path.basename(path)}: {desc}{flag}")

    print(f"files: {len(files)}")
    print(f"distinct character names: {len(characters)}")
    print(f"distinct scenarios: {len(scenarios)}")
    print(f"turns: {turns} ({len(all_words)} <FIRST> replies, "
          f"{sum(all_words)} words in them)")
    print("<FIRST> reply lengths per level (words):")
    lo = 1
    for name, top in LEVELS:
        rng = f"{lo}-{top}" if top is not None else f">{lo - 1}"
        mark = "" if hist[name] >= MIN_PER_LEVEL else f"  < {MIN_PER_LEVEL}!"
        print(f"  {name:<10} {rng:>8}  {hist[name]:4d}  {'#' * (hist[name] // 2)}{mark}")
        if top is not None:
            lo = top + 1
    for name, _ in LEVELS:
        if files and hist[name] < MIN_PER_LEVEL:
            errors.append(f"level {name} has {hist[name]} replies (need {MIN_PER_LEVEL})")
    for w in warnings:
        print("warning:", w)
    for e in errors:
        print("error:", e)
    print("OK" if not errors else f"FAILED: {len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
