// The parts of the Hub's HTTP API a download needs, as huggingface_hub uses them:
//   GET  /api/models/{repo}/revision/{rev}          the commit a revision names, the file list
//   GET  /api/models/{repo}/tree/{commit}?recursive  sizes and LFS sha256 of every file
//   HEAD /{repo}/resolve/{commit}/{file}              X-Repo-Commit, ETag / X-Linked-Etag,
//                                                     Content-Length / X-Linked-Size
// Failures become messages a user can act on (gated repository, missing revision, no network).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "hub/hub_name.h"
#include "hub/hub_settings.h"
#include "hub/http_client.h"

namespace limarp::hub {

struct RepoFile {
  std::string path;
  int64_t size = -1;
  std::string sha256;  // the LFS object id; empty for files stored in git itself
};

struct RepoListing {
  std::string commit;
  std::vector<RepoFile> files;
};

struct FileHead {
  std::string commit;
  std::string etag;    // the blob's name in the cache
  int64_t size = -1;
  bool lfs = false;    // then etag is the content's sha256
};

// Whether the Hub answered at all: callers fall back to the cache when it did not.
enum class Reachability { kReached, kUnreachable };

class HubApi {
 public:
  HubApi(HttpClient& http, const HubSettings& settings) : http_(http), settings_(settings) {}

  Result<RepoListing> list(const HubName& name, Reachability& reachability);
  Result<FileHead> head(const std::string& repo, const std::string& commit, const std::string& file);

  std::string resolve_url(const std::string& repo, const std::string& revision, const std::string& file) const;
  // The Authorization header when a token is set (sent to the Hub; libcurl drops it on
  // redirects to another host, as the Hub's storage must not see it).
  std::vector<std::string> auth_headers() const;
  // A message for a failed request, naming the repository, revision or file it concerns.
  Error failure(const HttpResponse& r, const std::string& repo, const std::string& revision,
                const std::string& file = {}) const;

 private:
  Result<std::vector<RepoFile>> tree(const std::string& repo, const std::string& commit);
  HttpClient& http_;
  const HubSettings& settings_;
};

}  // namespace limarp::hub
