"""Slow clients against `limarp serve` (stories260K): connections that drip a header byte at a
time, bodies that trickle, connections that say nothing. Idle timeouts restart on every byte,
so only deadlines for the whole request keep such clients from holding every connection
(issue 21, row 3): each gets a 408 (or is closed, when it sent nothing) once its deadline
passes, and a well-behaved client is served meanwhile. scripts/test.sh also runs this against
the ASan + UBSan build."""
import socket
import threading
import time

from common import Checker, asset
from server_common import Server, raw_exchange, read_to_close, status_of

MODEL = asset("stories260K/stories260K.gguf")
HEADER_TIMEOUT = 2.0
MIN_RATE = 1000
CONNECTIONS = 6
c = Checker()


def drip(port, head, pieces, interval, out, key):
    """Sends `head`, then each of `pieces` every `interval` s, until the server answers or
    closes; stores what came back and when."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    t0 = time.time()
    got = b""
    try:
        s.sendall(head)
        for piece in pieces:
            s.settimeout(interval)
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                break
            except socket.timeout:
                pass
            try:
                s.sendall(piece)
            except OSError:
                break
        s.settimeout(10)
        got += read_to_close(s)
    finally:
        s.close()
    out[key] = (got, time.time() - t0)


with Server("-m", MODEL, "--slots", "1", "-t", "1", "--max-connections", str(CONNECTIONS),
            "--header-timeout", str(HEADER_TIMEOUT), "--body-min-rate", str(MIN_RATE)) as s:
    p = s.port
    results = {}
    # Every connection the server allows, each dripping one header byte every 0.4 s for up to 24 s.
    drippers = [threading.Thread(target=drip, args=(p, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: ",
                                                    [b"a"] * 60, 0.4, results, f"drip{i}"))
                for i in range(CONNECTIONS)]
    for t in drippers:
        t.start()
    time.sleep(0.5)
    # A well-behaved client: refused (503) while the drippers hold every connection, served
    # soon after their deadline.
    t0 = time.time()
    served_after = None
    while time.time() - t0 < 12:
        raw = raw_exchange(p, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout=5)
        if status_of(raw) == 200:
            served_after = time.time() - t0
            break
        time.sleep(0.2)
    for t in drippers:
        t.join()
    c.check(served_after is not None and served_after < HEADER_TIMEOUT + 3,
            f"a normal client is served {served_after} s after {CONNECTIONS} dripping connections took every slot")
    late = [k for k, (got, took) in results.items() if status_of(got) == 408 and took < HEADER_TIMEOUT + 3]
    c.check(len(late) == CONNECTIONS and all(b"headers did not arrive" in results[k][0] for k in late),
            f"every dripping connection got 408 within its deadline ({[(status_of(g), round(t, 1)) for g, t in results.values()]})")

    # A body trickling at 2 bytes/s (under --body-min-rate): 408 after the grace.
    results.clear()
    drip(p, b"POST /api/extra/tokencount HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n",
         [b" "] * 60, 0.5, results, "body")
    got, took = results["body"]
    c.check(status_of(got) == 408 and b"too slowly" in got and took < HEADER_TIMEOUT + 3,
            f"a trickling body: 408 after {took:.1f} s ({got[-120:]!r})")

    # A body that takes longer than the grace but arrives above the minimum rate is served.
    prompt = b'{"prompt": "' + b"Once upon a time " * 350 + b'"}'
    pieces = [prompt[i:i + 500] for i in range(0, len(prompt), 500)]
    t0 = time.time()
    results.clear()
    drip(p, f"POST /api/extra/tokencount HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(prompt)}\r\n"
            "Connection: close\r\n\r\n".encode(), pieces + [b""], 0.25, results, "steady")
    got, took = results["steady"]
    c.check(status_of(got) == 200 and took > HEADER_TIMEOUT,
            f"a {len(prompt)}-byte body at 2000 bytes/s for {took:.1f} s (past the grace, above the rate) is served")

    # A connection that sends nothing is closed without an answer once the header deadline passes.
    sock = socket.create_connection(("127.0.0.1", p), timeout=10)
    t0 = time.time()
    try:
        closed = sock.recv(100) == b""
    except (socket.timeout, ConnectionResetError):
        closed = False
    took = time.time() - t0
    sock.close()
    c.check(closed and HEADER_TIMEOUT - 0.5 < took < HEADER_TIMEOUT + 3,
            f"a silent connection is closed after {took:.1f} s, unanswered")
    c.check(s.get("/health")[0] == 200, "the server still answers afterwards")
c.check(s.proc.returncode == 0, "and shuts down cleanly")
c.done()
