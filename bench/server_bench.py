#!/usr/bin/env python3
"""Benchmarks `limarp serve` over loopback HTTP, the way clients load it.

1. Throughput: the same load (--clients concurrent requests of --tokens tokens each) against
   a server with 1 slot and with 4 slots; aggregate generated tokens per second. With one slot
   the requests queue; with four, their decode steps share each forward pass.
2. Time to first token through a --turns-turn chat (/api/limarp/chat, streaming): turn 1 vs
   the last turn, whose prompt is much longer but mostly cached; and the last turn again with
   cache_prompt false (the whole prompt evaluated), to show what reuse saves. TTFT is the
   server's first_token_ms (request received -> first token sampled): the first *visible* text
   can come later, since pieces that might start a stop string are held back.

  bench/server_bench.py --model build/bench/tinyllama-q8_0.gguf --threads 2
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    def __init__(self, args, extra):
        self.cmd = [args.bin, "serve", "-m", args.model, "--port", "0", "-t", str(args.threads), "--ctx", str(args.ctx),
                    "--queue", "256", "--max-tokens-limit", "4096", "--timeout", "0", "--log-format", "off", *extra]
        if args.tokenizer:
            self.cmd += ["--tokenizer", args.tokenizer]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        while True:
            line = self.proc.stderr.readline().decode()
            if not line:
                raise SystemExit("server failed to start: " + " ".join(self.cmd))
            m = re.search(r"serving .* on port (\d+)", line)
            if m:
                self.port = int(m.group(1))
                return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)

    def post(self, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = json.loads(r.read())
        conn.close()
        return data

    def stream(self, path, body):
        """Returns (seconds to the first text piece, final event)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        t0 = time.perf_counter()
        conn.request("POST", path, json.dumps({**body, "stream": True}), {"Content-Type": "application/json"})
        r = conn.getresponse()
        first, buffer, last = None, "", None
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            buffer += chunk.decode()
            while "\n\n" in buffer:
                event, buffer = buffer.split("\n\n", 1)
                data = json.loads(event[len("data: "):])
                if first is None and data.get("text"):
                    first = time.perf_counter() - t0
                last = data
        conn.close()
        return first, last


def throughput(args, slots):
    with Server(args, ["--slots", str(slots)]) as s:
        s.post("/completion", {"prompt": "Warm up", "n_predict": 4})
        results = [None] * args.clients

        def client(i):
            results[i] = s.post("/completion", {"prompt": f"Once upon a time, story number {i}", "n_predict": args.tokens,
                                                "ignore_eos": True, "temperature": 0.8, "seed": i})

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        tokens = sum(r["tokens_predicted"] for r in results)
        return tokens / wall, wall, tokens


def chat_ttft(args):
    out = {}
    with Server(args, ["--slots", "1"]) as s:
        chat = {"char": "Aqua", "user": "Kazuma", "char_persona": "A goddess of water. Cheerful, vain and often useless.",
                "user_persona": "A young adventurer who is always short of money.",
                "scenario": "Aqua and Kazuma sit in the guild hall, out of money again.", "length": "short", "messages": []}
        req = {"max_tokens": args.reply_tokens, "ignore_eos": True, "temperature": 0.8, "seed": 1,
               "trim_unfinished_sentence": False}
        for turn in range(1, args.turns + 1):
            chat["messages"].append({"role": "user", "text": f"Turn {turn}: so what do we do now? We need money for dinner tonight."})
            ttft, done = s.stream("/api/limarp/chat", {**chat, **req})
            chat["messages"].append({"role": "char", "text": done["text"] or "..."})
            out[turn] = (done["timings"]["first_token_ms"] / 1000, done["prompt"])
        # The last turn again without the cache: what every turn would cost without reuse.
        chat["messages"].pop()
        ttft, done = s.stream("/api/limarp/chat", {**chat, **req, "cache_prompt": False})
        out["uncached"] = (done["timings"]["first_token_ms"] / 1000, done["prompt"])
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--tokenizer", default="")
    p.add_argument("--bin", default=os.path.join(ROOT, "build/release/bin/limarp"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--ctx", type=int, default=2048)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--reply-tokens", type=int, default=24)
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-chat", action="store_true")
    args = p.parse_args()
    print(f"model {os.path.basename(args.model)}, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    if not args.skip_throughput:
        rates = {}
        for slots in (1, 4):
            rate, wall, tokens = throughput(args, slots)
            rates[slots] = rate
            print(f"  {slots} slot(s): {args.clients} clients x {args.tokens} tokens: {tokens} tokens in {wall:.2f} s = {rate:.1f} tokens/s")
        print(f"  4 slots / 1 slot: {rates[4] / rates[1]:.2f}x")
    if not args.skip_chat:
        ttft = chat_ttft(args)
        first, last, uncached = ttft[1], ttft[args.turns], ttft["uncached"]
        print(f"  TTFT turn 1: {first[0] * 1000:.0f} ms (prompt {first[1]['tokens']} tokens, {first[1]['evaluated']} evaluated)")
        print(f"  TTFT turn {args.turns}: {last[0] * 1000:.0f} ms (prompt {last[1]['tokens']} tokens, {last[1]['evaluated']} evaluated, "
              f"{last[1]['reused']} reused)")
        print(f"  TTFT turn {args.turns} without the cache: {uncached[0] * 1000:.0f} ms ({uncached[1]['evaluated']} evaluated)")
        print(f"  TTFT turn {args.turns} / turn 1: {last[0] / first[0]:.2f}x; uncached / cached turn {args.turns}: "
              f"{uncached[0] / last[0]:.1f}x")


if __name__ == "__main__":
    main()
