"""kill -9 during `limarp convert` (issue 21, row 8): a Hugging Face folder or a GGUF file appears
under its final name only when it is complete, whenever the process dies; the temporaries a
killed run leaves are cleaned by the next run that writes there. The kill times are spread over
the whole conversion (measured first) with a fixed seed."""
import os
import random
import signal
import subprocess
import time

from common import BIN, Checker, run, scratch

c = Checker()
work = scratch()
model = os.path.join(work, "m.gguf")
run("init", model, "--shape", "small", "--type", "f32", "--seed", "1")

for target in ("hf-folder", "copy.gguf"):
    out = os.path.join(work, target)
    t0 = time.time()
    run("convert", model, out)
    took = time.time() - t0
    subprocess.run(["rm", "-rf", out], check=True)
    rng = random.Random(21)
    outcomes = {"absent": 0, "complete": 0}
    broken = []
    for attempt in range(12):
        p = subprocess.Popen([BIN, "convert", model, out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, took * 1.2))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if not os.path.exists(out):
            outcomes["absent"] += 1
            continue
        _, err, code = run("info", out, check=False)
        if code == 0:
            outcomes["complete"] += 1
        else:
            broken.append(err.strip().splitlines()[-1:])
        subprocess.run(["rm", "-rf", out], check=True)
    c.check(not broken, f"{target}: after 12 kills at spread times the output is absent or complete {outcomes} {broken[:2]}")
    left = [f for f in os.listdir(work) if ".tmp." in f]
    run("convert", model, out)
    after = [f for f in os.listdir(work) if ".tmp." in f]
    c.check(not after, f"{target}: the next run cleans what killed runs left ({len(left)} temporaries before, {after} after)")
    _, _, code = run("info", out, check=False)
    c.check(code == 0, f"{target}: and its output loads")
c.done()
