#include "hub/hub_api.h"

#include "base/json_util.h"

namespace limarp::hub {
namespace {

// ETags arrive quoted and sometimes weak (W/"..."); the cache uses the bare value.
std::string normalize_etag(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

// The next page of a paginated listing: Link: <URL>; rel="next".
std::string next_link(const HttpResponse& r) {
  const std::string link = r.header("link");
  const size_t rel = link.find("rel=\"next\"");
  if (rel == std::string::npos) return {};
  const size_t open = link.rfind('<', rel), close = link.find('>', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos || close > rel) return {};
  return link.substr(open + 1, close - open - 1);
}

Result<int64_t> parse_size(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= 0) return static_cast<int64_t>(v);
  } catch (const std::exception&) {
  }
  return make_error("{}: invalid size {:?}", what, text);
}

}  // namespace

std::string HubApi::resolve_url(const std::string& repo, const std::string& revision, const std::string& file) const {
  return fmt::format("{}/{}/resolve/{}/{}", settings_.endpoint, repo, url_encode_segment(revision), url_encode_path(file));
}

std::vector<std::string> HubApi::auth_headers() const {
  if (settings_.token.empty()) return {};
  return {"Authorization: Bearer " + settings_.token};
}

Error HubApi::failure(const HttpResponse& r, const std::string& repo, const std::string& revision,
                      const std::string& file) const {
  const std::string page = fmt::format("{}/{}", settings_.endpoint, repo);
  if (r.failure == TransportFailure::kUnreachable)
    return make_error("cannot reach the Hub at {} ({}); check the network, or set HF_HUB_OFFLINE=1 to use only "
                      "files already in the cache ({})",
                      settings_.endpoint, r.failure_message, settings_.cache_dir);
  if (r.failure != TransportFailure::kNone)
    return make_error("request to {} failed: {}", r.url.empty() ? page : r.url, r.failure_message);
  const std::string code = r.header("x-error-code");
  if (code == "RepoNotFound")
    return make_error("repository {} not found at {} (HTTP {}){}", repo, settings_.endpoint, r.status,
                      settings_.token.empty() ? "; if it is private, set HF_TOKEN" : "");
  if (code == "RevisionNotFound")
    return make_error("revision {:?} not found in {} (a branch, tag or commit of {})", revision, repo, page);
  if (code == "EntryNotFound" || (r.status == 404 && !file.empty()))
    return make_error("file {} not found in {} at revision {}", file, repo, revision);
  if (r.status == 401 || r.status == 403 || code == "GatedRepo") {
    if (settings_.token.empty())
      return make_error("{} is gated or private (HTTP {}): accept its licence at {} while logged in, then set "
                        "HF_TOKEN to an access token (or run `huggingface-cli login`)",
                        repo, r.status, page);
    return make_error("{} refused the token from HF_TOKEN or the token file (HTTP {}): accept the licence at {} with "
                      "that account and check the token may read it",
                      repo, r.status, page);
  }
  if (r.status == 404)
    return make_error("repository {} or its revision {:?} not found at {}", repo, revision, settings_.endpoint);
  std::string body = r.body.substr(0, 200);
  return make_error("{} answered HTTP {} for {}{}{}", settings_.endpoint, r.status, r.url,
                    body.empty() ? "" : ": ", body);
}

Result<RepoListing> HubApi::list(const HubName& name, Reachability& reachability) {
  reachability = Reachability::kReached;
  HttpRequest req{fmt::format("{}/api/models/{}/revision/{}", settings_.endpoint, name.repo,
                              url_encode_segment(name.revision))};
  req.headers = auth_headers();
  const HttpResponse r = http_.fetch(req);
  if (r.failure == TransportFailure::kUnreachable) reachability = Reachability::kUnreachable;
  if (r.failure != TransportFailure::kNone || r.status != 200) return failure(r, name.repo, name.revision);
  const std::string source = fmt::format("{} model info", name.repo);
  LIMARP_ASSIGN_OR_RETURN(Json info, parse_json(r.body, source));
  RepoListing listing;
  LIMARP_ASSIGN_OR_RETURN(listing.commit, json_string(info, "sha", source));
  if (!is_commit_hash(listing.commit))
    return make_error("{}: sha {:?} is not a commit hash", source, listing.commit);
  LIMARP_ASSIGN_OR_RETURN(listing.files, tree(name.repo, listing.commit));
  return listing;
}

Result<std::vector<RepoFile>> HubApi::tree(const std::string& repo, const std::string& commit) {
  std::vector<RepoFile> files;
  std::string url = fmt::format("{}/api/models/{}/tree/{}?recursive=true", settings_.endpoint, repo, commit);
  const std::string source = fmt::format("{} file tree", repo);
  for (int page = 0; !url.empty(); ++page) {
    if (page > 1000) return make_error("{}: more than 1000 pages", source);
    HttpRequest req{url};
    req.headers = auth_headers();
    const HttpResponse r = http_.fetch(req);
    if (r.failure != TransportFailure::kNone || r.status != 200) return failure(r, repo, commit);
    LIMARP_ASSIGN_OR_RETURN(Json entries, parse_json(r.body, source));
    if (!entries.is_array()) return make_error("{}: expected a JSON array, got {}", source, json_brief(entries));
    for (const Json& e : entries) {
      if (!e.is_object() || e.value("type", "") != "file") continue;
      RepoFile f;
      LIMARP_ASSIGN_OR_RETURN(f.path, json_string(e, "path", source));
      if (e.contains("size")) {
        LIMARP_ASSIGN_OR_RETURN(f.size, json_int(e, "size", source));
      }
      if (auto lfs = e.find("lfs"); lfs != e.end() && lfs->is_object()) {
        LIMARP_ASSIGN_OR_RETURN(f.sha256, json_string(*lfs, "oid", source));
      }
      files.push_back(std::move(f));
    }
    url = next_link(r);
  }
  return files;
}

Result<FileHead> HubApi::head(const std::string& repo, const std::string& commit, const std::string& file) {
  // Not following redirects to the storage: the Hub's own answer carries the headers. Relative
  // redirects stay on the Hub (a renamed repository) and are followed, as huggingface_hub does.
  std::string url = resolve_url(repo, commit, file);
  HttpResponse r;
  for (int hop = 0;; ++hop) {
    HttpRequest req(url, HttpMethod::kHead, Redirects::kKeep);
    req.headers = auth_headers();
    req.headers.push_back("Accept-Encoding: identity");
    r = http_.fetch(req);
    const std::string location = r.header("location");
    const bool relative_redirect = r.status >= 300 && r.status < 400 && location.starts_with('/') &&
                                   !location.starts_with("//") && r.header("x-repo-commit").empty();
    if (!relative_redirect || hop >= 5) break;
    url = settings_.endpoint + location;
  }
  if (r.failure != TransportFailure::kNone || r.status >= 400) return failure(r, repo, commit, file);
  const std::string what = fmt::format("{} {}", repo, file);
  FileHead h;
  h.commit = r.header("x-repo-commit");
  if (h.commit.empty()) h.commit = commit;
  const std::string linked = r.header("x-linked-etag");
  h.lfs = !linked.empty();
  h.etag = normalize_etag(h.lfs ? linked : r.header("etag"));
  if (h.etag.empty() || h.etag.find_first_of("/\\") != std::string::npos || h.etag.starts_with("."))
    return make_error("{}: the Hub sent no usable ETag ({:?})", what, h.etag);
  const std::string size = h.lfs ? r.header("x-linked-size") : r.header("content-length");
  if (!size.empty()) {
    LIMARP_ASSIGN_OR_RETURN(h.size, parse_size(size, what));
  }
  return h;
}

}  // namespace limarp::hub
