"""`limarp serve` as operators see it: the access log (text and JSON, prompts only when asked),
Prometheus metrics parsed by the Prometheus client library's own parser (every counter moves by
exactly what a known request did), and the lifecycle: /health ok, then draining (503) after
SIGTERM while a stream runs, new generations refused meanwhile, running ones ended cleanly at
--drain-timeout, exit 0; a second signal exits at once."""
import http.client
import json
import re
import signal
import subprocess
import threading
import time

from prometheus_client.parser import text_string_to_metric_families

from common import Checker, SOURCE, asset
from server_common import Server

MODEL = asset("stories260K/stories260K.gguf")
DEMO = SOURCE + "/models/limarp-demo/limarp-demo.gguf"
c = Checker()


def scrape(s):
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    assert r.status == 200 and r.getheader("Content-Type", "").startswith("text/plain; version=0.0.4"), r.status
    samples = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            samples[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def scrape_settled(s, before, expected, timeout=3.0):
    """A scrape that shows every expected count: the server counts an exchange once it has
    written the response, which can be a moment after the client has read it."""
    deadline = time.time() + timeout
    while True:
        after = scrape(s)
        if all(delta(before, after, name, **labels) >= n for name, labels, n in expected) or time.time() > deadline:
            return after
        time.sleep(0.05)


def log_lines(s, since):
    return [line for line in s.log[since:] if line.strip()]


# --- Metrics and the JSON access log ------------------------------------------------------
with Server("-m", MODEL, "-t", "1", "--metrics", "--log-format", "json") as s:
    before = scrape(s)
    mark = len(s.log)
    prompt = "Once upon a time, there was a little girl named Lily."
    status, body = s.post("/v1/completions", {"prompt": prompt, "max_tokens": 8, "temperature": 0, "ignore_eos": True})
    usage = body["usage"]
    s.post("/v1/completions", {"prompt": "x", "top_p": 7})  # a 400
    s.get("/no/such/route")                                 # a 404 on an unknown path
    after = scrape_settled(s, before, [("limarp_requests_total", {"route": "/v1/completions", "status": "200"}, 1),
                                       ("limarp_requests_total", {"route": "/v1/completions", "status": "400"}, 1),
                                       ("limarp_requests_total", {"route": "other", "status": "404"}, 1)])
    c.check(status == 200 and usage["completion_tokens"] == 8, f"a known request: {usage}")
    c.check(delta(before, after, "limarp_requests_total", route="/v1/completions", status="200") == 1,
            "requests_total{route=/v1/completions,status=200} moved by 1")
    c.check(delta(before, after, "limarp_requests_total", route="/v1/completions", status="400") == 1,
            "requests_total{...,status=400} moved by 1")
    c.check(delta(before, after, "limarp_requests_total", route="other", status="404") == 1,
            "an unknown path counts as route=\"other\" (clients cannot grow the label set)")
    c.check(delta(before, after, "limarp_generations_total") == 1, "generations_total moved by 1")
    c.check(delta(before, after, "limarp_prompt_tokens_total") == usage["prompt_tokens"],
            f"prompt_tokens_total moved by the request's {usage['prompt_tokens']} prompt tokens")
    c.check(delta(before, after, "limarp_generated_tokens_total") == 8, "generated_tokens_total moved by 8")
    c.check(delta(before, after, "limarp_prompt_seconds_total") > 0 and delta(before, after, "limarp_generation_seconds_total") > 0,
            "prompt and generation seconds moved")
    c.check(value(after, "limarp_generation_tokens_per_second") > 0, "tokens/s is reported")
    c.check(value(after, "limarp_slots") == 1 and value(after, "limarp_slots_busy") == 0 and value(after, "limarp_queue_length") == 0,
            "slots, busy slots and queue as gauges")
    n_ctx = s.get("/props")[1]["default_generation_settings"]["n_ctx"]
    c.check(value(after, "limarp_kv_cache_tokens") > 0 and value(after, "limarp_kv_cache_capacity_tokens") == n_ctx
            and 0 < value(after, "limarp_kv_cache_usage_ratio") <= 1, "KV cache use")
    c.check(value(after, "limarp_server_phase", phase="ok") == 1, "the phase gauge says ok")
    # The same prompt again: its tokens but the last come from the slot's cache.
    status, _ = s.post("/v1/completions", {"prompt": prompt, "max_tokens": 1, "temperature": 0})
    again = scrape(s)
    c.check(delta(after, again, "limarp_prompt_cache_hit_tokens_total") >= usage["prompt_tokens"] - 1,
            "a repeated prompt shows as prompt-cache hits")
    time.sleep(0.2)
    lines = [json.loads(line) for line in log_lines(s, mark) if line.startswith("{")]
    gen = [j for j in lines if j["path"] == "/v1/completions" and j["status"] == 200]
    bad = [j for j in lines if j["status"] == 400]
    c.check(gen and gen[0]["prompt_tokens"] == usage["prompt_tokens"] and gen[0]["generated_tokens"] == 8
            and gen[0]["slot"] == 0 and gen[0]["method"] == "POST" and gen[0]["client"].startswith("127.0.0.1:")
            and gen[0]["duration_ms"] > 0 and "prompt" not in gen[0],
            f"the JSON access log line of the generation, without its prompt ({gen[:1]})")
    c.check(bad and "top_p" in bad[0]["error"], f"a 400's line carries its error ({bad[:1]})")
    c.check(all(k in j for j in lines for k in ("time", "client", "method", "path", "status", "duration_ms")),
            "every line has time, client, method, path, status, duration")

# --- Text log; prompts only with --log-prompts; metrics off by default ---------------------
secret = "The dragon whispered a secret password"
for flags, shown in ((), False), (("--log-prompts",), True):
    with Server("-m", MODEL, "-t", "1", *flags) as s:
        mark = len(s.log)
        s.post("/api/v1/generate", {"prompt": secret, "max_length": 2})
        status, _ = s.get("/metrics")
        time.sleep(0.2)
        text = "".join(log_lines(s, mark))
        line = next((ln for ln in log_lines(s, mark) if '"POST /api/v1/generate" 200' in ln), "")
        c.check(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1:\d+ \"POST /api/v1/generate\" 200 [\d.]+ms "
                          r"prompt=\d+ gen=\d+ cached=\d+ slot=0 stop=\w+", line) is not None,
                f"a text access line {line.strip()!r}")
        c.check((secret in text) == shown, f"prompt text in the log: {shown} with flags {flags}")
        c.check(status == 404, "without --metrics, /metrics is a 404 saying how to turn it on")

# --- Lifecycle: draining ------------------------------------------------------------------
long_body = {"prompt": "### Instruction:\nTell a long story.\n\n### Response:\n", "max_tokens": 1900,
             "temperature": 0, "ignore_eos": True, "stream": True}


def stream_until_done(port, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/completions", body=json.dumps(long_body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    out["started"] = time.time()
    data = b""
    while True:
        try:
            chunk = r.read1(65536)
        except (http.client.IncompleteRead, ConnectionError) as e:
            out["error"] = repr(e)
            break
        if not chunk:
            break
        data += chunk
    out["data"] = data.decode(errors="replace")
    conn.close()


def sigterm_mid_stream(s):
    """Starts the long stream, sends SIGTERM once it is under way; returns (thread, its output)."""
    out = {}
    t = threading.Thread(target=stream_until_done, args=(s.port, out))
    t.start()
    while "started" not in out:
        time.sleep(0.001)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    return t, out


with Server("-m", DEMO, "-t", "1", "--slots", "1", "--drain-timeout", "0.3") as s:
    t, out = sigterm_mid_stream(s)
    health = s.get("/health")
    refused, _ = s.post("/v1/completions", {"prompt": "Hi", "max_tokens": 2})
    t.join(timeout=30)
    code = s.proc.wait(timeout=30)
    finishes = [json.loads(e[6:]) for e in out.get("data", "").split("\n") if e.startswith("data: {")]
    last = finishes[-1]["choices"][0] if finishes else {}
    generated = sum(1 for f in finishes if f["choices"][0].get("text"))
    c.check(health == (503, {"status": "draining"}), f"/health during the drain: {health}")
    c.check(refused == 503, f"a new generation during the drain: {refused}")
    c.check("error" not in out and last.get("finish_reason") == "length" and "[DONE]" in out.get("data", "")
            and 0 < generated < 1900,
            f"the running stream ended cleanly at --drain-timeout ({last.get('finish_reason')}, {generated} pieces, "
            f"{out.get('error')})")
    c.check(code == 0, f"and the server exited 0 ({code})")

with Server("-m", DEMO, "-t", "1", "--slots", "1", "--drain-timeout", "60") as s:
    t, out = sigterm_mid_stream(s)
    t0 = time.time()
    s.proc.send_signal(signal.SIGTERM)
    try:
        code = s.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code = None
    t.join(timeout=30)
    c.check(code == 128 + signal.SIGTERM and time.time() - t0 < 2, f"a second SIGTERM exits at once ({code})")
c.done()
