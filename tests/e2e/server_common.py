"""Helpers for the server end-to-end tests: start `limarp serve` on a free port, talk HTTP over
real sockets, and read Server-Sent Events exactly the way SillyTavern's EventSourceStream does."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from common import BIN


class Server:
    """`limarp serve ARGS --port 0`, waited for until /health says 200; stopped with SIGTERM."""

    def __init__(self, *args, env=None, port=0):
        self.args = [BIN, "serve", "--port", str(port), *map(str, args)]
        # The suite's Vulkan pass (tests/CMakeLists.txt) runs the same API tests on a device.
        if os.environ.get("LIMARP_TEST_DEVICE"):
            self.args += ["--device", os.environ["LIMARP_TEST_DEVICE"]]
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = None
        self.log = []

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + 60
        while self.port is None:
            line = self.proc.stderr.readline().decode(errors="replace")
            if not line:
                raise AssertionError("server exited early:\n" + "".join(self.log))
            self.log.append(line)
            m = re.search(r"listening on http://[^ ]*:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
            if time.time() > deadline:
                raise AssertionError("server did not start")
        # The access log writes a line per request: keep reading stderr, or a busy test fills
        # the pipe and the server blocks on its next log line.
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        while True:
            try:
                status, _ = self.get("/health", headers=self.auth_headers())
                if status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise AssertionError("server never became healthy")
            time.sleep(0.05)
        return self

    def _read_log(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self.log.append(raw.decode(errors="replace"))

    def log_text(self):
        return "".join(self.log)

    def auth_headers(self):
        key = self.env.get("LIMARP_API_KEY")
        return {"Authorization": "Bearer " + key} if key else {}

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("server did not stop on SIGTERM")
        if self.proc and getattr(self, "reader", None):
            self.reader.join(timeout=10)
        return self.proc.returncode

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    # --- plain requests -------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = None
        h = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        return r.status, raw, r

    def get(self, path, headers=None):
        status, raw, _ = self.request("GET", path, headers=headers)
        return status, parse_json(raw)

    def post(self, path, body, headers=None, timeout=60):
        status, raw, _ = self.request("POST", path, body, headers=headers, timeout=timeout)
        return status, parse_json(raw)

    # --- streams --------------------------------------------------------------------------
    def stream(self, path, body, headers=None, on_event=None, timeout=120):
        """POSTs and reads the SSE response; returns (status, [events]) where an event is
        {"event": name or None, "data": str}. on_event(event) may return False to hang up."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Content-Type": "application/json", **(headers or {})}
        conn.request("POST", path, body=json.dumps(body), headers=h)
        r = conn.getresponse()
        if r.status != 200:
            raw = r.read()
            conn.close()
            return r.status, parse_json(raw)
        events = []
        parser = EventSourceParser()
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            stop = False
            for ev in parser.feed(chunk.decode("utf-8")):
                events.append(ev)
                if on_event and on_event(ev) is False:
                    stop = True
                    break
            if stop:
                conn.sock.shutdown(socket.SHUT_RDWR)
                break
        conn.close()
        return r.status, events


def parse_json(raw):
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return raw


class EventSourceParser:
    """The WHATWG event-stream algorithm as SillyTavern's EventSourceStream applies it: events
    end at a blank line (\\n\\n, \\r\\n\\r\\n or \\r\\r), `data:` lines are joined with \\n after
    dropping one leading space, `event:` names the event, comments (`:`) are skipped."""

    def __init__(self):
        self.buffer = ""

    def feed(self, text):
        self.buffer += text
        out = []
        while True:
            m = re.search(r"\r\n\r\n|\n\n|\r\r", self.buffer)
            if not m:
                return out
            block, self.buffer = self.buffer[: m.start()], self.buffer[m.end():]
            event, data = None, []
            for line in re.split(r"\r\n|\n|\r", block):
                if not line or line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
            if data:
                out.append({"event": event, "data": "\n".join(data)})


def kobold_stream_text(events):
    """SillyTavern's KoboldCpp reader: every event's JSON, `token` appended when present."""
    text, finish = "", None
    for ev in events:
        data = json.loads(ev["data"])
        if data.get("token"):
            text += data["token"]
        if data.get("finish_reason"):
            finish = data["finish_reason"]
    return text, finish


def openai_stream_text(events, chat=False):
    """SillyTavern's text-completion reader: stop at [DONE]; add choices[0].text (or the chat
    delta's content, or llama.cpp's content)."""
    text, finish, done = "", None, False
    for ev in events:
        if ev["data"] == "[DONE]":
            done = True
            break
        data = json.loads(ev["data"])
        choice = (data.get("choices") or [{}])[0]
        if chat:
            text += (choice.get("delta") or {}).get("content") or ""
        else:
            text += choice.get("text") or data.get("content") or ""
        finish = choice.get("finish_reason") or finish
    return text, finish, done


def raw_exchange(port, data, timeout=10, shutdown_write=False):
    """Sends raw bytes; returns everything the server sends back until it closes (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        return read_to_close(s)
    finally:
        s.close()


def read_to_close(s):
    """Everything the server sends on socket s until it closes (or the socket's timeout)."""
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def status_of(raw):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", raw)
    return int(m.group(1)) if m else 0
