"""Load on loopback: 40 concurrent streaming clients against `limarp serve --slots 4 --queue 16`
on stories260K, three rounds, mixing the KoboldCpp, OpenAI and native streams. Clients that
get the busy answer (503) retry the way SillyTavern does. Checks: no errors other than those
503s, every client's text equals its single-client run with the same seed (no lost or
mixed-up tokens: sampling is per request and batching does not change a sequence's numbers),
and the server's memory stays flat from round to round."""
import json
import threading
import time

from common import Checker, asset
from server_common import Server, kobold_stream_text, openai_stream_text

MODEL = asset("stories260K/stories260K.gguf")
CLIENTS = 40
ROUNDS = 3
TOKENS = 48
STARTS = ["Once upon a time", "Lily and Tom", "The little dog", "One day, a bird", "Mom said", "The sun was hot",
          "Ben had a red", "In the park", "Sue found a box", "The cat and the"]
c = Checker()


def request_for(i):
    """Client i's request: (path, body, reader); a third each of the three stream kinds."""
    sampler = {"temperature": 1.0, "top_k": 40, "seed": 1000 + i, "rep_pen": 1.1}
    prompt = f"{STARTS[i % len(STARTS)]} number {i}"
    kind = i % 3
    if kind == 0:
        return ("/api/extra/generate/stream", {"prompt": prompt, "max_length": TOKENS, "sampler_seed": 1000 + i, **sampler},
                lambda ev: kobold_stream_text(ev)[0])
    if kind == 1:
        return ("/v1/completions", {"prompt": prompt, "max_tokens": TOKENS, "stream": True, **sampler},
                lambda ev: openai_stream_text(ev)[0])
    body = {"char": f"Bot{i}", "user": "Tim", "scenario": prompt, "messages": [{"role": "user", "text": prompt}],
            "max_tokens": TOKENS, "stream": True, "trim_unfinished_sentence": False, **sampler}
    return ("/api/limarp/chat", body, lambda ev: "".join(json.loads(e["data"]).get("text", "") for e in ev[:-1]))


def run_client(s, i, results, stats):
    path, body, read = request_for(i)
    # SillyTavern gives up after 50 tries 2.5 s apart (about two minutes); this client retries
    # faster but for as long, so a machine busy with other tests slows the run, never fails it.
    deadline = time.time() + 150
    while time.time() < deadline:
        status, events = s.stream(path, body)
        if status == 503:
            with stats["lock"]:
                stats["busy"] += 1
            time.sleep(0.05)  # SillyTavern waits 2.5 s; a shorter wait keeps the test quick
            continue
        if status != 200:
            with stats["lock"]:
                stats["errors"].append((i, status, events))
            return
        results[i] = read(events)
        return
    with stats["lock"]:
        stats["errors"].append((i, "still busy after 150 s of retries"))


with Server("-m", MODEL, "--slots", "4", "--queue", "16", "--ctx", "256", "--max-connections", "128", "-t", "2") as s:
    rss = []
    texts = []
    stats = {"lock": threading.Lock(), "busy": 0, "errors": []}
    t0 = time.time()
    for round_ in range(ROUNDS):
        results = [None] * CLIENTS
        threads = [threading.Thread(target=run_client, args=(s, i, results, stats)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        texts.append(results)
        rss.append(s.rss_kib())
    elapsed = time.time() - t0
    props = s.get("/props")[1]["stats"]
    print(f"load: {CLIENTS} clients x {ROUNDS} rounds in {elapsed:.1f} s; {props['tokens_generated']} tokens "
          f"({props['tokens_generated'] / elapsed:.0f} tokens/s), {props['forward_passes']} forward passes, "
          f"{stats['busy']} busy answers (retried); RSS by round: {rss} KiB")
    c.check(not stats["errors"], f"no errors besides 503s ({stats['errors'][:3]})")
    c.check(stats["busy"] > 0 and props["jobs_refused"] == stats["busy"], f"the queue bound was hit ({stats['busy']} x 503)")
    c.check(all(r is not None for rr in texts for r in rr), "every client finished every round")
    c.check(all(texts[r] == texts[0] for r in range(1, ROUNDS)), "every round gave every client the same text")
    c.check(props["forward_passes"] < props["tokens_generated"] / 2, "decode steps were batched (fewer passes than tokens / 2)")
    # Memory: the first round grows the caches and arenas; later rounds must not add more.
    c.check(rss[-1] - rss[0] < 16 * 1024, f"memory flat across rounds ({rss[0]} -> {rss[-1]} KiB)")

    # Each client alone, one at a time: the same text.
    alone = [None] * CLIENTS
    solo = {"lock": threading.Lock(), "busy": 0, "errors": []}
    for i in range(CLIENTS):
        run_client(s, i, alone, solo)
    mismatched = [i for i in range(CLIENTS) if alone[i] != texts[0][i]]
    c.check(not mismatched and not solo["errors"],
            f"each client's text under load equals its single-client run ({len(mismatched)} differ: {mismatched[:5]})")
    c.check(all(len(t) > 20 for t in alone), "and the texts are real text")
c.done()
