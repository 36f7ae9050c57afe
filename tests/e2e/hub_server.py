"""A local stand-in for the Hugging Face Hub, for the tests of `limarp pull` and `hf:` names.

It serves the documented API that huggingface_hub and @huggingface/hub use, on 127.0.0.1 only:
  GET  /api/models/{repo}/revision/{rev}        {"id", "sha", "siblings": [{"rfilename"}]}
  GET  /api/models/{repo}/tree/{rev}[/{path}]   [{"type", "path", "size", "oid", "lfs"}], paginated
                                                with Link: <...>; rel="next"
  POST /api/models/{repo}/paths-info/{rev}      the same entries for the paths asked for
  HEAD/GET /{repo}/resolve/{rev}/{file}         X-Repo-Commit, ETag, and for LFS files
                                                X-Linked-Etag / X-Linked-Size and a 302 to /lfs/{sha256}
Files under LFS (.gguf, .safetensors, .bin, .model) are named by sha256, the others by their git
blob id. Ranges are honoured. `renamed` maps old repository ids to current ones: requests under
an old id get a relative 307 to the new one, as the Hub answers after a rename. A gated repository answers 401 (X-Error-Code: GatedRepo) on resolve
without the right token. Faults for the tests: `drop_once` (sha256s whose first download is cut
midway) and `corrupt` (sha256s served with one byte changed). `requests` records what was asked.
"""
import hashlib
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".gguf", ".safetensors", ".bin", ".model")
PAGE = 4  # small pages, so clients must follow the Link header
TOKEN = "hf_limarp_test_token"


class Repo:
    def __init__(self, repo_id, files, gated=False):
        self.id = repo_id
        self.gated = gated
        self.files = {}
        for path, data in sorted(files.items()):
            lfs = path.endswith(LFS_SUFFIXES)
            self.files[path] = {
                "data": data,
                "lfs": lfs,
                "sha256": hashlib.sha256(data).hexdigest(),
                "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
            }
        digest = hashlib.sha1(repo_id.encode())
        for path, f in self.files.items():
            digest.update(path.encode() + f["oid"].encode())
        self.commit = digest.hexdigest()

    def entry(self, path):
        f = self.files[path]
        e = {"type": "file", "path": path, "size": len(f["data"]), "oid": f["oid"],
             "lastCommit": {"id": self.commit, "title": "upload", "date": "2024-01-01T00:00:00.000Z"}}
        if f["lfs"]:
            e["lfs"] = {"oid": f["sha256"], "size": len(f["data"]), "pointerSize": 134}
        return e


class HubServer:
    def __init__(self, repos):
        self.repos = {r.id: r for r in repos}
        self.blobs = {f["sha256"]: f["data"] for r in repos for f in r.files.values()}
        self.renamed = {}
        self.drop_once = set()
        self.corrupt = set()
        self.requests = []
        self.lock = threading.Lock()
        server = self

        class Handler(HubHandler):
            hub = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def downloads(self, sha256=None):
        """GETs of LFS objects (optionally one object), with their Range headers."""
        with self.lock:
            return [(p, r) for m, p, r in self.requests if m == "GET" and p.startswith("/lfs/")
                    and (sha256 is None or p.startswith(f"/lfs/{sha256}"))]

    def clear(self):
        with self.lock:
            self.requests.clear()


class HubHandler(BaseHTTPRequestHandler):
    hub = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, status, value, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self._send(status, json.dumps(value).encode(), h)

    def _error(self, status, code, message, head=False):
        self._send(status, json.dumps({"error": message}).encode(),
                   {"Content-Type": "application/json", "X-Error-Code": code}, head)

    def _record(self):
        with self.hub.lock:
            self.hub.requests.append((self.command, self.path, self.headers.get("Range")))

    def _repo_and_rest(self, parts):
        """parts after the prefix: org, name, then the rest."""
        if len(parts) < 2:
            return None, None
        return self.hub.repos.get(f"{parts[0]}/{parts[1]}"), parts[2:]

    def _revision_ok(self, repo, rev):
        return rev in ("main", repo.commit)

    def do_HEAD(self):
        self._record()
        self._dispatch(head=True)

    def do_GET(self):
        self._record()
        self._dispatch(head=False)

    def do_POST(self):
        self._record()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if parts[:2] != ["api", "models"] or len(parts) < 6 or parts[4] != "paths-info":
            return self._error(404, "NotFound", "no such endpoint")
        repo, rest = self._repo_and_rest(parts[2:])
        if repo is None:
            return self._error(404, "RepoNotFound", "repository not found")
        if not self._revision_ok(repo, rest[1]):
            return self._error(404, "RevisionNotFound", "revision not found")
        paths = json.loads(body or b"{}").get("paths", [])
        self._json(200, [repo.entry(p) for p in paths if p in repo.files])

    def _renamed(self, parts, at):
        """A 307 to the current name when parts[at:at+2] is an old repository id."""
        new_id = self.hub.renamed.get("/".join(parts[at:at + 2]))
        if new_id is None:
            return False
        moved = parts[:at] + new_id.split("/") + parts[at + 2:]
        query = urllib.parse.urlsplit(self.path).query
        location = "/" + "/".join(urllib.parse.quote(p) for p in moved) + (f"?{query}" if query else "")
        self._send(307, b"", {"Location": location}, self.command == "HEAD")
        return True

    def _dispatch(self, head):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if self._renamed(parts, 2 if parts[:2] == ["api", "models"] else 0):
            return
        if parts[:1] == ["lfs"] and len(parts) == 2:
            return self._serve_blob(parts[1], head)
        if parts[:2] == ["api", "models"]:
            repo, rest = self._repo_and_rest(parts[2:])
            if repo is None:
                return self._error(404, "RepoNotFound", "repository not found")
            if len(rest) >= 2 and rest[0] in ("revision", "tree") and not self._revision_ok(repo, rest[1]):
                return self._error(404, "RevisionNotFound", f"revision {rest[1]} not found")
            if len(rest) == 2 and rest[0] == "revision":
                return self._json(200, {"id": repo.id, "modelId": repo.id, "sha": repo.commit,
                                        "gated": "manual" if repo.gated else False,
                                        "siblings": [{"rfilename": p} for p in repo.files]})
            if len(rest) >= 2 and rest[0] == "tree":
                return self._tree(repo, "/".join(rest[2:]), query, url.path)
            return self._error(404, "NotFound", "no such endpoint")
        repo, rest = self._repo_and_rest(parts)
        if repo is None or len(rest) < 3 or rest[0] != "resolve":
            return self._error(404, "RepoNotFound", "repository not found", head)
        if repo.gated and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._error(401, "GatedRepo", "access to this gated repository is restricted", head)
        if not self._revision_ok(repo, rest[1]):
            return self._error(404, "RevisionNotFound", "revision not found", head)
        path = "/".join(rest[2:])
        f = repo.files.get(path)
        if f is None:
            return self._error(404, "EntryNotFound", f"{path} does not exist", head)
        headers = {"X-Repo-Commit": repo.commit}
        if f["lfs"]:
            headers.update({"ETag": f'"{f["sha256"]}"', "X-Linked-Etag": f'"{f["sha256"]}"',
                            "X-Linked-Size": str(len(f["data"])), "Location": f"/lfs/{f['sha256']}?repo={repo.id}"})
            return self._send(302, b"", headers, head)
        headers["ETag"] = f'"{f["oid"]}"'
        self._serve_bytes(f["data"], headers, head)

    def _tree(self, repo, prefix, query, path):
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        entries, dirs = [], set()
        for p in repo.files:
            if prefix and not p.startswith(prefix + "/"):
                continue
            rel = p[len(prefix) + 1:] if prefix else p
            if recursive or "/" not in rel:
                entries.append(repo.entry(p))
            else:
                d = (prefix + "/" if prefix else "") + rel.split("/")[0]
                if d not in dirs:
                    dirs.add(d)
                    entries.append({"type": "directory", "path": d, "size": 0, "oid": "0" * 40})
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start:start + PAGE]
        headers = {}
        if start + PAGE < len(entries):
            q = {k: v[0] for k, v in query.items()}
            q["cursor"] = str(start + PAGE)
            headers["Link"] = f'<{self.hub.url}{path}?{urllib.parse.urlencode(q)}>; rel="next"'
        self._json(200, page, headers)

    def _serve_blob(self, sha256, head):
        data = self.hub.blobs.get(sha256)
        if data is None:
            return self._error(404, "EntryNotFound", "no such object", head)
        if sha256 in self.hub.corrupt:
            data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:]
        drop = False
        if not head and sha256 in self.hub.drop_once:
            with self.hub.lock:
                drop = sha256 in self.hub.drop_once
                self.hub.drop_once.discard(sha256)
        self._serve_bytes(data, {"ETag": f'"{sha256}"'}, head, drop)

    def _serve_bytes(self, data, headers, head, drop=False):
        total = len(data)
        status, start, end = 200, 0, total - 1
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            end = min(int(b), total - 1) if b else total - 1
            if start >= total:
                return self._send(416, b"", {"Content-Range": f"bytes */{total}"}, head)
            status = 206
            headers = dict(headers, **{"Content-Range": f"bytes {start}-{end}/{total}"})
        body = data[start:end + 1]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        if drop:
            # Half the promised bytes, then the connection goes away: the client must resume.
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)
