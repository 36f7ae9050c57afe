// Fetches one repository file, the way a user can trust: into `<name>.incomplete` beside its
// final place, resumed with an HTTP range after an interruption (a few times within the run,
// and on the next run from what is on disk), checked against the Hub's size and, for LFS
// files, sha256 — a mismatch deletes the partial file and is an error — and only then renamed
// into place.
//
//   Downloader d(http, api);
//   LIMARP_ASSIGN_OR_RETURN(std::string path, d.to_cache(cache, "ORG/NAME", commit, "model.gguf"));
#pragma once

#include <string>

#include "base/status.h"
#include "hub/hub_api.h"
#include "hub/http_client.h"
#include "hub/repo_cache.h"

namespace limarp::hub {

class Downloader {
 public:
  Downloader(HttpClient& http, HubApi& api) : http_(http), api_(api) {}

  // Into the Hub cache; returns snapshots/<commit>/<file>. A file already in the snapshot costs
  // no request; a blob already present (another revision, another tool) is linked, not fetched.
  Result<std::string> to_cache(const RepoCache& cache, const std::string& repo, const std::string& commit,
                               const std::string& file);
  // Into DIR/<file> (huggingface_hub's --local-dir layout, bookkeeping in DIR/.cache/huggingface).
  Result<std::string> to_local_dir(const std::string& dir, const std::string& repo, const std::string& commit,
                                   const std::string& file);

 private:
  // Completes `incomplete` from the resolve URL, verifies it and renames it to `destination`.
  Status fetch(const std::string& repo, const std::string& commit, const std::string& file, const FileHead& head,
               const std::string& incomplete, const std::string& destination);
  HttpClient& http_;
  HubApi& api_;
};

}  // namespace limarp::hub
