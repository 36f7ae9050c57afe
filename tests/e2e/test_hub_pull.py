"""`limarp pull` and `hf:` names against a local Hub (tests/e2e/hub_server.py, loopback only):
GGUF by quantization tag and split shards, a Transformers model, a PEFT .bin adapter used with
--lora, the cache layout huggingface_hub shares, gated and missing repositories, an interrupted
download resumed (in the run and across runs), a corrupted blob refused, offline mode and a
cache read again with no network."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import Checker, scratch  # noqa: E402
import hub_fixtures  # noqa: E402
from hub_fixtures import limarp, why  # noqa: E402
from hub_server import TOKEN, HubServer  # noqa: E402

UNREACHABLE = "http://127.0.0.1:1"  # port 1: nothing listens, the connection is refused


def sample(env, model, *extra):
    """Sampled tokens (temperature 1): they depend on the whole distribution, unlike greedy ones."""
    rc, out, err = limarp(env, "generate", "-m", model, *extra, "-p", "Once upon", "-n", "12",
                          "--temperature", "1", "--seed", "3", "--json")
    return out.strip().splitlines()[-1] if rc == 0 and out.strip() else f"failed: {err}"


def main():
    c = Checker()
    tmp = scratch()
    repos, local = hub_fixtures.build(tmp)
    by_id = {r.id: r for r in repos}
    gguf_repo = by_id["limarp-test/tiny-GGUF"]
    q8 = gguf_repo.files["tiny.Q8_0.gguf"]
    f32 = gguf_repo.files["tiny.F32.gguf"]

    with HubServer(repos) as hub:
        cache = os.path.join(tmp, "cache")
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": cache}
        repo_dir = os.path.join(cache, "models--limarp-test--tiny-GGUF")

        # GGUF by quantization tag (any case), into the Hub's own layout.
        rc, out, err = limarp(env, "pull", "limarp-test/tiny-GGUF:q8_0")
        path = out.strip()
        c.check(rc == 0, f"pull GGUF by tag{why(rc, err)}")
        snapshot = os.path.join(repo_dir, "snapshots", gguf_repo.commit)
        c.check(path == os.path.join(snapshot, "tiny.Q8_0.gguf"), f"prints the snapshot path ({path})")
        c.check(os.path.islink(path) and os.readlink(path) == f"../../blobs/{q8['sha256']}",
                "snapshot entry is a relative link to blobs/<sha256>")
        c.check(open(path, "rb").read() == q8["data"], "downloaded bytes are the file's")
        c.check(open(os.path.join(repo_dir, "refs", "main")).read() == gguf_repo.commit, "refs/main holds the commit")
        c.check(os.listdir(snapshot) == ["tiny.Q8_0.gguf"], "only the chosen quantization is fetched")
        c.check("ETA" in err or "/s" in err, "progress shows speed")

        rc, _, err = limarp(env, "pull", "limarp-test/tiny-GGUF:Q5_K_M")
        c.check(rc != 0 and "Q5_K_M" in err and "F32, Q8_0" in err, f"unknown tag lists what exists ({err.strip()})")
        rc, _, err = limarp(env, "pull", "limarp-test/tiny-GGUF")
        c.check(rc != 0 and "choose one" in err, "several quantizations and no tag: asks for one")

        # The same model through -m hf:..., from the cache: no download.
        hub.clear()
        c.check(sample(env, "hf:limarp-test/tiny-GGUF:Q8_0") == sample({}, local["q8"]),
                "generate -m hf:...:Q8_0 equals the local file")
        c.check(hub.downloads() == [], "a cached file is not downloaded again")

        # Split GGUF: every shard, the first one opened.
        rc, out, _ = limarp(env, "pull", "hf:limarp-test/split-GGUF:Q4_K_M")
        split_dir = os.path.dirname(out.strip())
        c.check(rc == 0 and out.strip().endswith("tiny-Q4_K_M-00001-of-00002.gguf") and
                sorted(os.listdir(split_dir)) == ["tiny-Q4_K_M-00001-of-00002.gguf", "tiny-Q4_K_M-00002-of-00002.gguf"],
                "split GGUF: both shards, path of the first")

        # Transformers model: config, tokenizer, safetensors; not the README or other folders.
        rc, out, err = limarp(env, "pull", "limarp-test/tiny-hf")
        hf_dir = out.strip()
        c.check(rc == 0 and sorted(os.listdir(hf_dir)) == ["config.json", "model.safetensors", "tokenizer.model"],
                f"Transformers repo: config, tokenizer, weights{why(rc, err)}")
        c.check(sample(env, "hf:limarp-test/tiny-hf") == sample({}, local["hf"]), "generate -m hf: folder equals local")

        # PEFT adapter stored as adapter_model.bin, applied with --lora hf:...:SCALE.
        with_hub = sample(env, "hf:limarp-test/tiny-hf", "--lora", "hf:limarp-test/tiny-lora:4")
        with_local = sample({}, local["hf"], "--lora", local["lora_bin"] + ":4")
        c.check(with_hub == with_local and not with_hub.startswith("failed"), "--lora hf: equals the local adapter")
        c.check(with_hub != sample({}, local["hf"]), "the adapter changes the output")
        lora_snap = os.path.join(cache, "models--limarp-test--tiny-lora", "snapshots", by_id["limarp-test/tiny-lora"].commit)
        c.check(sorted(os.listdir(lora_snap)) == ["adapter_config.json", "adapter_model.bin"], "PEFT repo: adapter files only")

        # --local-dir: plain files, no cache.
        local_dir = os.path.join(tmp, "local-dir")
        rc, out, _ = limarp(env, "pull", "limarp-test/tiny-hf", "--local-dir", local_dir)
        c.check(rc == 0 and out.strip() == local_dir and
                open(os.path.join(local_dir, "model.safetensors"), "rb").read() ==
                by_id["limarp-test/tiny-hf"].files["model.safetensors"]["data"], "--local-dir holds the files")

        # A renamed repository: the Hub redirects the old name (relative 307s, API and resolve).
        hub.renamed["limarp-old/tiny-GGUF"] = "limarp-test/tiny-GGUF"
        rc, out, err = limarp({"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": os.path.join(tmp, "cache-renamed")},
                              "pull", "limarp-old/tiny-GGUF:Q8_0")
        c.check(rc == 0 and open(out.strip(), "rb").read() == q8["data"], f"renamed repository followed{why(rc, err)}")

        # Errors a user can act on.
        rc, _, err = limarp(env, "pull", "limarp-gated/tiny-GGUF:Q8_0")
        c.check(rc != 0 and "gated" in err and "HF_TOKEN" in err and "licence" in err, f"gated without token ({err.strip()})")
        rc, _, err = limarp(dict(env, HF_TOKEN=TOKEN), "pull", "limarp-gated/tiny-GGUF:Q8_0")
        c.check(rc == 0, f"gated with HF_TOKEN{why(rc, err)}")
        home = os.path.join(tmp, "hf-home")
        os.makedirs(home)
        with open(os.path.join(home, "token"), "w") as f:
            f.write(TOKEN + "\n")
        rc, _, err = limarp({"HF_ENDPOINT": hub.url, "HF_HOME": home}, "pull", "limarp-gated/tiny-GGUF:Q8_0")
        c.check(rc == 0 and os.path.isdir(os.path.join(home, "hub", "models--limarp-gated--tiny-GGUF")),
                f"token file in HF_HOME, cache in HF_HOME/hub{why(rc, err)}")
        rc, _, err = limarp(env, "pull", "nobody/nothing")
        c.check(rc != 0 and "nobody/nothing not found" in err, "missing repository")
        rc, _, err = limarp(env, "pull", "limarp-test/tiny-GGUF@v9")
        c.check(rc != 0 and 'revision "v9" not found' in err, "missing revision")
        rc, _, err = limarp(env, "pull", "limarp-test/tiny-GGUF:missing.gguf")
        c.check(rc != 0 and "has no file missing.gguf" in err and "tiny.F32.gguf" in err, "missing file lists files")
        rc, _, err = limarp(env, "generate", "-m", "hf:not a name", "-p", "x")
        c.check(rc != 0 and "ORG/NAME" in err, "malformed name")

        # The connection drops halfway: resumed with a range in the same run.
        cache2 = os.path.join(tmp, "cache2")
        env2 = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": cache2}
        hub.clear()
        hub.drop_once.add(f32["sha256"])
        rc, out, err = limarp(env2, "pull", "limarp-test/tiny-GGUF:F32")
        gets = hub.downloads(f32["sha256"])
        c.check(rc == 0 and open(out.strip(), "rb").read() == f32["data"], f"dropped connection: file complete{why(rc, err)}")
        c.check(len(gets) == 2 and gets[0][1] is None and gets[1][1] == f"bytes={len(f32['data']) // 2}-",
                f"dropped connection: resumed from byte {len(f32['data']) // 2} ({gets})")

        # A partial .incomplete left by an earlier run is continued, not restarted.
        cache3 = os.path.join(tmp, "cache3")
        env3 = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": cache3}
        blobs3 = os.path.join(cache3, "models--limarp-test--tiny-GGUF", "blobs")
        os.makedirs(blobs3)
        third = len(f32["data"]) // 3
        with open(os.path.join(blobs3, f32["sha256"] + ".incomplete"), "wb") as f:
            f.write(f32["data"][:third])
        hub.clear()
        rc, out, _ = limarp(env3, "pull", "limarp-test/tiny-GGUF:F32")
        gets = hub.downloads(f32["sha256"])
        c.check(rc == 0 and gets == [(gets[0][0], f"bytes={third}-")] and open(out.strip(), "rb").read() == f32["data"],
                f"an earlier run's partial file is resumed ({gets})")
        c.check(os.listdir(blobs3) == [f32["sha256"]], "no .incomplete left behind")

        # A corrupted blob: sha256 mismatch, nothing put in place.
        cache4 = os.path.join(tmp, "cache4")
        hub.corrupt.add(q8["sha256"])
        rc, _, err = limarp({"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": cache4}, "pull", "limarp-test/tiny-GGUF:Q8_0")
        hub.corrupt.clear()
        repo4 = os.path.join(cache4, "models--limarp-test--tiny-GGUF")
        c.check(rc != 0 and "sha256" in err and q8["sha256"] in err, f"corrupted blob refused ({err.strip()[-300:]})")
        c.check(os.listdir(os.path.join(repo4, "blobs")) == [] and not os.path.exists(os.path.join(repo4, "snapshots")),
                "corrupted blob: no blob, no partial file, no snapshot entry")

        # Offline: the cache only, not one request.
        hub.clear()
        offline = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"}
        c.check(sample(offline, "hf:limarp-test/tiny-hf", "--lora", "hf:limarp-test/tiny-lora:4") == with_local,
                "HF_HUB_OFFLINE=1: model and adapter from the cache")
        rc, out, err = limarp(offline, "tokenize", "-m", "hf:limarp-test/tiny-hf", "--text", "Once", "--json")
        c.check(rc == 0 and out.strip().startswith("["), f"tokenize -m hf: from the cache{why(rc, err)}")
        rc, out, _ = limarp(offline, "pull", "limarp-test/tiny-GGUF:Q8_0")
        c.check(rc == 0 and out.strip() == path, "HF_HUB_OFFLINE=1: pull answers from the cache")
        c.check(hub.requests == [], f"HF_HUB_OFFLINE=1: no request reached the Hub ({hub.requests[:3]})")
        rc, _, err = limarp(offline, "pull", "limarp-test/tiny-GGUF:F32")
        c.check(rc != 0 and "F32" in err and "HF_HUB_OFFLINE" in err, "HF_HUB_OFFLINE=1: a file not cached is an error")

    # A training config naming its base and the adapter to continue by Hub names (offline: the
    # cache filled above); the trained adapter records the base as PEFT does, by repository id.
    text = os.path.join(tmp, "stories.txt")
    with open(text, "w") as f:
        f.write("Once upon a time there was a little cat. The cat liked to play in the sun.\n" * 20)
    train_out = os.path.join(tmp, "trained")
    config = os.path.join(tmp, "train.yml")
    with open(config, "w") as f:
        f.write(f"""base_model: hf:limarp-test/tiny-hf
adapter: lora
lora_model_dir: hf:limarp-test/tiny-lora
lora_r: 4
lora_alpha: 8
lora_target_linear: true
sequence_len: 32
micro_batch_size: 2
max_steps: 2
learning_rate: 0.001
output_dir: {train_out}
datasets:
  - path: {text}
    type: completion
""")
    rc, _, err = limarp({"HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"}, "train", config, "-t", "1")
    adapter_config = os.path.join(train_out, "adapter_config.json")
    c.check(rc == 0 and os.path.exists(adapter_config), f"train: base_model and lora_model_dir as hf: names{why(rc, err)}")
    if rc == 0:
        c.check(json.load(open(adapter_config)).get("base_model_name_or_path") == "limarp-test/tiny-hf",
                "trained adapter names its base ORG/NAME")

    # No network at all (the server is gone): the cache written above is read again, with a warning.
    gone = {"HF_ENDPOINT": UNREACHABLE, "HF_HUB_CACHE": cache}
    rc, _, err = limarp(gone, "info", "hf:limarp-test/tiny-GGUF:Q8_0")
    c.check(rc == 0 and "cannot reach" in err and "cached snapshot" in err, f"no network: cache used{why(rc, err)}")
    c.check(sample(gone, "hf:limarp-test/tiny-GGUF:Q8_0") == sample({}, local["q8"]), "no network: generate from the cache")
    rc, _, err = limarp(gone, "pull", "limarp-test/never-pulled")
    c.check(rc != 0 and "cannot reach" in err and "HF_HUB_OFFLINE" in err, "no network, not cached: clear error")

    shutil.rmtree(tmp, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
