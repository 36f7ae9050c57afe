"""Shared helpers for the end-to-end tests: find the binary and the assets, run limarp."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77  # ctest's SKIP_RETURN_CODE

BIN = os.environ.get("LIMARP_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "release", "bin", "limarp")
ASSETS = os.environ.get("LIMARP_ASSETS", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "assets"))
SOURCE = os.environ.get("LIMARP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def asset(relative):
    """Path of a shared asset; skips the test (exit 77) when absent, fails under CI=true."""
    path = os.path.join(ASSETS, relative)
    if not os.path.exists(path):
        if os.environ.get("CI") == "true":
            print(f"FAIL: missing test asset {relative}")
            sys.exit(1)
        print(f"SKIP: test assets not found ({path})")
        sys.exit(SKIP)
    return path


def run(*args, input=None, check=True, timeout=600):
    """Runs limarp with arguments; returns (stdout, stderr)."""
    cmd = [BIN] + [str(a) for a in args]
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr.decode(errors='replace')}")
    return p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), p.returncode


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def scratch():
    """A fresh folder, removed when the test process exits (kept with LIMARP_KEEP_TEST_FILES=1)."""
    d = tempfile.mkdtemp(prefix="limarp-e2e-")
    if not os.environ.get("LIMARP_KEEP_TEST_FILES"):
        atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


class Checker:
    """Counts failures so one run reports every broken case, then exits non-zero."""

    def __init__(self):
        self.failures = 0

    def check(self, cond, message):
        if cond:
            print(f"ok   {message}")
        else:
            print(f"FAIL {message}")
            self.failures += 1

    def done(self):
        sys.exit(1 if self.failures else 0)
