"""`limarp chat` end to end on stories260K (real weights), driven through stdin: seeded runs
repeat exactly; /length, /regen, /undo, /edit, /save and /load do what they say; saves are
atomic; --show-words counts each reply; Ctrl-C stops a reply and the chat goes on."""
import json
import os
import select
import signal
import subprocess
import time

from common import BIN, Checker, asset, scratch

model = asset("stories260K/stories260K.gguf")
c = Checker()
d = scratch()
save = os.path.join(d, "chat.json")
base = [BIN, "chat", "-m", model, "--char", "Lily", "--user", "Tom", "--char-persona", "A cheerful girl who loves parks.",
        "--scenario", "Lily and Tom play in the park.", "-n", "40", "--seed", "7", "-t", "1"]


def session(script, *extra):
    p = subprocess.run(base + list(extra), input=script.encode(), capture_output=True, timeout=300)
    c.check(p.returncode == 0, f"chat exits cleanly ({p.returncode}) {p.stderr.decode()[-300:]}")
    return p.stdout.decode()


def replies(out):
    return [line.split("Lily: ", 1)[1] for line in out.splitlines() if "Lily: " in line]


script = "Hello, who are you?\nTell me a story.\n/regen\n/length tiny\n/undo\n/save " + save + "\n/quit\n"
first = session(script)
second = session(script)
c.check(first == second, "a seeded chat repeats exactly")
r = replies(first)
c.check(len(r) == 3, f"three replies streamed (two turns and a regeneration): {len(r)}")
c.check(len(r) == 3 and r[1] != r[2], "/regen writes a different reply")
c.check("length: tiny" in first, "/length answers with the new level")
c.check("(last exchange removed)" in first, "/undo reports")
saved = json.load(open(save))
c.check(saved["length"] == "tiny", "the saved chat keeps /length")
c.check([m["role"] for m in saved["messages"]] == ["user", "char"], "after /undo one exchange is left")
c.check(saved["messages"][0]["text"] == "Hello, who are you?", "the user's message is saved verbatim")
c.check(saved["messages"][1]["text"] == r[0].strip() or r[0].startswith(saved["messages"][1]["text"]),
        "the saved reply is the streamed one (an unfinished last sentence may be trimmed)")
c.check(not [f for f in os.listdir(d) if ".tmp." in f], "no temporary files left behind")

# /edit and /load: continue a saved chat; --save writes after every turn.
auto = os.path.join(d, "auto.json")
out = session("/edit Hi Tom! I am Lily.\nLet's play!\n/quit\n", "--load", save, "--save", auto)
saved = json.load(open(auto))
c.check(saved["messages"][1]["text"] == "Hi Tom! I am Lily.", "/edit replaced the last reply")
c.check(len(saved["messages"]) == 4 and saved["messages"][2]["text"] == "Let's play!", "the loaded chat goes on")
c.check(saved["length"] == "tiny", "the loaded chat keeps its length")

# --show-words: after each reply its word count and the level asked for (what scripts/demo.sh shows).
# (--no-trim: the count is of the reply as kept, which is then the text streamed.)
out = session("/length short\nHello!\n/length huge\nTell me more.\n/quit\n", "--show-words", "--no-trim")
counts, streamed, current = [], [], None
for line in out.splitlines():
    if line.startswith("(") and " words at length " in line:
        counts.append(line)
        streamed.append(current or "")
        current = None
    elif "Lily: " in line:
        current = line.split("Lily: ", 1)[1]
    elif current is not None:
        current += "\n" + line
c.check(len(counts) == 2 and "at length short)" in counts[0] and "at length huge)" in counts[1],
        f"--show-words reports each reply's level: {counts}")
c.check(len(counts) == 2 and all(int(n.split()[0][1:]) == len(t.split()) for n, t in zip(counts, streamed)),
        f"--show-words counts the reply's words: {counts} for {streamed}")

# Bad input: an unknown command and a bad level are errors, not crashes.
out = session("/length enormous\n/frobnicate\n/regen\n/quit\n")
c.check("error: " in out and "enormous" in out, "a bad length level is named")
c.check("unknown command /frobnicate" in out, "an unknown command is named")
c.check("nothing to regenerate" in out, "/regen with nothing to redo says so")

# Ctrl-C stops a long reply; the program stays and answers the next command.
p = subprocess.Popen(base[:-6] + ["-n", "100000", "-c", "2048", "--seed", "3", "-t", "1"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdin.write(b"Tell me a very long story.\n")
p.stdin.flush()
# Interrupt once the reply is streaming (a fixed delay raced the whole reply on a fast machine).
streamed = b""
deadline = time.time() + 60
while streamed.count(b"Lily:") < 1 and time.time() < deadline:
    if select.select([p.stdout], [], [], 0.5)[0]:
        streamed += os.read(p.stdout.fileno(), 4096)
p.send_signal(signal.SIGINT)
time.sleep(0.3)
p.stdin.write(b"/length\n/quit\n")
p.stdin.flush()
out, err = p.communicate(timeout=120)
out = (streamed + out).decode()
c.check(p.returncode == 0, f"Ctrl-C did not end the program ({p.returncode})")
c.check("(stopped)" in out, "the reply was stopped")
c.check("length: medium" in out, "the chat answered after Ctrl-C")
c.done()
