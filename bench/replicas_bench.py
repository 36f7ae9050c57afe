#!/usr/bin/env python3
"""Benchmarks `limarp serve` replicas behind HAProxy (deploy/haproxy.cfg, addresses rewritten),
on loopback, the figures docs/deploy.md states:

1. Aggregate generated tokens/s of --clients concurrent streaming requests (--tokens each,
   EOS ignored) through the balancer, with 1 replica and with 2 replicas of `--slots 2 -t 1`,
   alternated for --rounds rounds (the two configurations see the same machine state).
2. Time to first token of a chat's last turn (a --turns-turn /api/limarp/chat conversation, the
   server's own first_token_ms): on the replica that holds the chat (where stickiness sends it)
   and on the other one (where a balancer without stickiness may send it), alternated.

  bench/replicas_bench.py --model models/limarp-demo/limarp-demo.gguf
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, timeout=600):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, json.dumps(body) if body is not None else None, {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def metric(port, name):
    _, text = call(port, "GET", "/metrics")
    m = re.search(rf"^{name} (\S+)$", text.decode(), re.M)
    return float(m.group(1)) if m else 0.0


class Deployment:
    """n replicas and HAProxy in front of them."""

    def __init__(self, args, n):
        self.args, self.n = args, n

    def __enter__(self):
        self.ports = [free_port() for _ in range(self.n)]
        self.procs = [subprocess.Popen([self.args.bin, "serve", "-m", self.args.model, "--port", str(p), "--slots", "2",
                                        "-t", "1", "--metrics", "--log-format", "off", "--queue", "256",
                                        "--max-tokens-limit", "4096"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in self.ports]
        cfg = open(os.path.join(ROOT, "deploy", "haproxy.cfg")).read()
        self.lb_port = free_port()
        cfg = cfg.replace("bind 127.0.0.1:8080", f"bind 127.0.0.1:{self.lb_port}")
        servers = "".join(f"    server replica{i + 1} 127.0.0.1:{p} check\n" for i, p in enumerate(self.ports))
        cfg = re.sub(r"(    server replica\d .*\n)+", servers, cfg)
        self.cfg = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
        self.cfg.write(cfg)
        self.cfg.close()
        self.lb = subprocess.Popen([shutil.which("haproxy"), "-db", "-f", self.cfg.name], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        for p in self.ports:
            while True:
                try:
                    if call(p, "GET", "/health", timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit("a replica did not start")
                time.sleep(0.05)
        time.sleep(2.5)  # two health checks, as the shipped config wants
        return self

    def __exit__(self, *exc):
        self.lb.terminate()
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs + [self.lb]:
            p.wait(60)
        os.unlink(self.cfg.name)


def throughput(args, dep):
    """Aggregate generated tokens/s of args.clients concurrent streams through the balancer."""
    done = []

    def client(i):
        body = {"prompt": f"### Instruction:\nClient {i} tells a story.\n\n### Response:\n", "max_tokens": args.tokens,
                "temperature": 0.8, "seed": i, "ignore_eos": True, "stop": []}
        status, data = call(dep.lb_port, "POST", "/v1/completions", body)
        if status == 200:
            done.append(json.loads(data)["usage"]["completion_tokens"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.time() - t0), len(done)


def last_turn_ttft(args, dep):
    """first_token_ms of a chat's last turn on its own replica and on the other one."""
    persona = "Aqua is a goddess of water who loves parties, sings loudly and complains about her brave adventurer. " * 3
    messages, own = [], None
    for turn in range(args.turns):
        messages.append({"role": "user", "text": f"Turn {turn}: tell me what happens next in the guild hall."})
        body = {"char": "Aqua", "user": "Kazuma", "char_persona": persona, "scenario": "The guild hall.",
                "length": "short", "messages": messages, "max_tokens": 40, "temperature": 0}
        if turn < args.turns - 1:
            before = [metric(p, "limarp_generations_total") for p in dep.ports]
            status, data = call(dep.lb_port, "POST", "/api/limarp/chat", body)
            after = [metric(p, "limarp_generations_total") for p in dep.ports]
            own = next(i for i in range(len(dep.ports)) if after[i] > before[i])
            messages.append({"role": "char", "text": json.loads(data)["text"]})
    sticky, other = [], []
    for r in range(args.rounds):
        # The last user message is new each time, as in a real next turn: all before it can be cached.
        last = dict(body, messages=messages[:-1] + [{"role": "user", "text": f"Round {r}: and then what?"}])
        for where, out in ((own, sticky), (1 - own, other)):
            status, data = call(dep.ports[where], "POST", "/api/limarp/chat", last)
            out.append(json.loads(data)["timings"]["first_token_ms"])
            if where != own:  # the other replica forgets the chat again: two other chats fill its slots
                call(dep.ports[where], "POST", "/api/limarp/chat",
                     dict(body, char_persona="Someone else entirely.", messages=messages[:1], max_tokens=1))
                call(dep.ports[where], "POST", "/api/limarp/chat",
                     dict(body, char_persona="Yet another one.", messages=messages[:1], max_tokens=1))
    prompt_tokens = json.loads(data)["usage"]["prompt_tokens"]
    return sticky, other, prompt_tokens


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin", "limarp"))
    p.add_argument("--model", default=os.path.join(ROOT, "models", "limarp-demo", "limarp-demo.gguf"))
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--turns", type=int, default=20)
    args = p.parse_args()
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(f"machine: {cpu}, {os.cpu_count()} cores; model {os.path.basename(args.model)}")
    rates = {1: [], 2: []}
    for _ in range(args.rounds):
        for n in (1, 2):
            with Deployment(args, n) as dep:
                rate, ok = throughput(args, dep)
                rates[n].append(rate)
                print(f"  {n} replica(s): {rate:8.1f} tokens/s aggregate ({ok}/{args.clients} requests)")
    for n in (1, 2):
        print(f"{n} replica(s) of --slots 2 -t 1: median {statistics.median(rates[n]):.1f} tokens/s over {args.rounds} rounds")
    print(f"2 vs 1: {statistics.median(rates[2]) / statistics.median(rates[1]):.2f}x")
    with Deployment(args, 2) as dep:
        sticky, other, prompt_tokens = last_turn_ttft(args, dep)
    print(f"time to first token of turn {args.turns} ({prompt_tokens} prompt tokens): on its own replica "
          f"median {statistics.median(sticky):.1f} ms, on the other {statistics.median(other):.1f} ms "
          f"({statistics.median(other) / max(statistics.median(sticky), 1e-9):.1f}x)")


if __name__ == "__main__":
    main()
