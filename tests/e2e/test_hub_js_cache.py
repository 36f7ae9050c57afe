"""One cache, two clients: files the Hub's own JavaScript client (@huggingface/hub, pinned by
tests/hub_js/package-lock.json, installed by scripts/setup.sh) downloaded are loaded by limarp
offline, and files limarp pulled are found by that client's scanCacheDir. Both talk to the
loopback Hub stand-in. Skips when node or the package is missing, except under CI=true."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import SKIP, SOURCE, Checker, scratch  # noqa: E402
import hub_fixtures  # noqa: E402
from hub_fixtures import limarp, why  # noqa: E402
from hub_server import HubServer  # noqa: E402

JS_DIR = os.path.join(SOURCE, "tests", "hub_js")


def node_or_skip():
    node = shutil.which("node")
    if node and os.path.isdir(os.path.join(JS_DIR, "node_modules", "@huggingface", "hub")):
        return node
    message = "node or @huggingface/hub missing (run scripts/setup.sh)"
    if os.environ.get("CI") == "true":
        print(f"FAIL: {message}")
        sys.exit(1)
    print(f"SKIP: {message}")
    sys.exit(SKIP)


def js(node, *args):
    p = subprocess.run([node, os.path.join(JS_DIR, "cache_client.mjs")] + list(args), capture_output=True,
                       timeout=120, cwd=JS_DIR)
    if p.returncode != 0:
        raise AssertionError(f"cache_client.mjs {args[0]} failed:\n{p.stderr.decode(errors='replace')}")
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def main():
    node = node_or_skip()
    c = Checker()
    tmp = scratch()
    repos, local = hub_fixtures.build(tmp)
    by_id = {r.id: r for r in repos}
    gguf_repo, hf_repo = by_id["limarp-test/tiny-GGUF"], by_id["limarp-test/tiny-hf"]

    with HubServer(repos) as hub:
        # @huggingface/hub downloads; limarp then loads with the Hub unreachable and offline.
        js_cache = os.path.join(tmp, "js-cache")
        # By commit: that client records no refs/main for a branch download, so a branch name
        # would not lead limarp (or huggingface_hub) to its snapshot offline.
        js(node, "download", hub.url, js_cache, gguf_repo.id, gguf_repo.commit, "tiny.Q8_0.gguf")
        js(node, "download", hub.url, js_cache, hf_repo.id, hf_repo.commit, "config.json", "model.safetensors",
           "tokenizer.model")
        hub.clear()
        offline = {"HF_HUB_CACHE": js_cache, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": hub.url}
        for name, local_path in ((f"hf:{gguf_repo.id}@{gguf_repo.commit}:Q8_0", local["q8"]),
                                 (f"hf:{hf_repo.id}@{hf_repo.commit}", local["hf"])):
            rc, out, err = limarp(offline, "generate", "-m", name, "-p", "Once", "-n", "8", "--temperature", "1",
                                  "--seed", "5", "--json")
            _, want, _ = limarp({}, "generate", "-m", local_path, "-p", "Once", "-n", "8", "--temperature", "1",
                                "--seed", "5", "--json")
            c.check(rc == 0 and out.splitlines()[-1] == want.splitlines()[-1],
                    f"limarp loads {name} from @huggingface/hub's cache offline{why(rc, err)}")
        c.check(hub.requests == [], "no request reached the Hub")

        # limarp pulls; the JavaScript client's cache scan sees the same repositories and files.
        lim_cache = os.path.join(tmp, "limarp-cache")
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": lim_cache}
        for name in ("limarp-test/tiny-GGUF:Q8_0", "limarp-test/tiny-hf", "limarp-test/tiny-lora"):
            rc, _, err = limarp(env, "pull", name)
            c.check(rc == 0, f"limarp pull {name}{why(rc, err)}")
        scan = js(node, "scan", lim_cache)
        c.check(scan["warnings"] == [], f"scanCacheDir reports no problem ({scan['warnings']})")
        found = {r["name"]: r for r in scan["repos"]}
        c.check(sorted(found) == ["limarp-test/tiny-GGUF", "limarp-test/tiny-hf", "limarp-test/tiny-lora"],
                f"scanCacheDir finds the three repositories ({sorted(found)})")
        rev = found.get("limarp-test/tiny-GGUF", {"revisions": [{}]})["revisions"][0]
        c.check(rev.get("commit") == gguf_repo.commit and rev.get("refs") == ["main"], "revision and ref main")
        files = {os.path.basename(f["path"]): f for f in rev.get("files", [])}
        q8 = gguf_repo.files["tiny.Q8_0.gguf"]
        c.check(list(files) == ["tiny.Q8_0.gguf"] and files["tiny.Q8_0.gguf"]["size"] == len(q8["data"]) and
                files["tiny.Q8_0.gguf"]["blob"].endswith("/blobs/" + q8["sha256"]), "file, blob and size as limarp wrote them")
        hf_files = sorted(os.path.basename(f["path"]) for f in found.get("limarp-test/tiny-hf", {"revisions": [{"files": []}]})["revisions"][0]["files"])
        c.check(hf_files == ["config.json", "model.safetensors", "tokenizer.model"], f"Transformers files ({hf_files})")

    shutil.rmtree(tmp, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
