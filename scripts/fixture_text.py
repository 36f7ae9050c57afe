#!/usr/bin/env python3
"""Writes the roleplay fixtures as plain text, names filled in and turns under LimaRP's
headers, so the demo tokenizer learns the pieces of the prompt format as well as the stories.

  scripts/fixture_text.py data/roleplay OUT.txt
"""
import glob
import os
import sys

import yaml


def main():
    folder, out_path = sys.argv[1], sys.argv[2]
    with open(out_path, "w", encoding="utf-8") as out:
        for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
            names = doc["names"]

            def fill(text):
                return text.replace("<FIRST>", names["<FIRST>"]).replace("<SECOND>", names["<SECOND>"])

            out.write("### Instruction:\n")
            out.write(f"{names['<FIRST>']}'s Persona: {fill(doc['personas']['<FIRST>'])}\n")
            out.write(f"{names['<SECOND>']}'s Persona: {fill(doc['personas']['<SECOND>'])}\n")
            out.write(f"Scenario: {fill(doc['scenario'])}\n")
            for turn in doc["conversation"]:
                header = "### Response: (length = medium)" if turn["name"] == "<FIRST>" else "### Input:"
                out.write(f"{header}\n{fill(turn['name'])}: {fill(turn['text'])}\n")


if __name__ == "__main__":
    main()
