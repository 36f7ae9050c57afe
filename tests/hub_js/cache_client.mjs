// The Hub's own JavaScript client on the same cache folder as limarp (tests/e2e/test_hub_js_cache.py):
//   node cache_client.mjs download HUB_URL CACHE_DIR REPO REVISION FILE...   prints the cached paths
//   node cache_client.mjs scan CACHE_DIR                                      prints what scanCacheDir finds
import { downloadFileToCacheDir, scanCacheDir } from "@huggingface/hub";

const [mode, ...args] = process.argv.slice(2);
if (mode === "download") {
  const [hubUrl, cacheDir, repo, revision, ...files] = args;
  const paths = [];
  for (const path of files) {
    paths.push(await downloadFileToCacheDir({ repo, path, revision, hubUrl, cacheDir }));
  }
  console.log(JSON.stringify(paths));
} else if (mode === "scan") {
  const result = await scanCacheDir(args[0]);
  console.log(JSON.stringify({
    repos: result.repos.map((r) => ({
      name: r.id.name,
      type: r.id.type,
      revisions: r.revisions.map((rev) => ({
        commit: rev.commitOid,
        refs: rev.refs,
        files: rev.files.map((f) => ({ path: f.path, blob: f.blob.path, size: f.blob.size })),
      })),
    })),
    warnings: result.warnings.map(String),
  }));
} else {
  console.error("usage: cache_client.mjs download|scan ...");
  process.exit(2);
}
