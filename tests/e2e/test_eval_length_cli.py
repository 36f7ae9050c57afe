"""`limarp eval-length` on stories260K with the bundled fixtures: every level reported, the JSON
line has the documented keys, the SVG and Markdown files are written, and progress on a pipe is
a few lines."""
import json
import os

from common import Checker, asset, last_json, run, scratch, SOURCE

model = asset("stories260K/stories260K.gguf")
c = Checker()
d = scratch()
out, err, _ = run("eval-length", "-m", model, "--chats", os.path.join(SOURCE, "data", "roleplay"), "--every", "40",
                "--replies", "1", "-n", "12", "--svg", os.path.join(d, "len.svg"), "--md", os.path.join(d, "len.md"),
                "--json", "-t", "2")
j = last_json(out)
levels = [l["level"] for l in j["levels"]]
c.check(levels == ["tiny", "short", "medium", "long", "huge", "humongous", "extreme", "unlimited"], "all eight levels")
keys = {"level", "n", "mean_words", "median_words", "p10_words", "p90_words", "mean_tokens", "median_tokens",
        "p10_tokens", "p90_tokens", "impersonation_share", "limit_share"}
c.check(all(keys <= set(l) for l in j["levels"]), "every level has the documented keys")
c.check(all(l["mean_tokens"] <= 12 for l in j["levels"]), "the token limit holds")
c.check(-1 <= j["spearman"] <= 1, "spearman in range")
c.check(open(os.path.join(d, "len.svg")).read().startswith("<svg"), "an SVG chart is written")
c.check("| humongous |" in open(os.path.join(d, "len.md")).read(), "the Markdown table is written")
# Piped, progress is a line per tenth of the work with an ETA, not a redraw per reply.
progress = [line for line in err.splitlines() if line.startswith("eval-length:")]
c.check(2 <= len(progress) <= 11 and "\r" not in err and "ETA" in progress[0],
        f"progress lines on a pipe: {len(progress)}")
c.done()
