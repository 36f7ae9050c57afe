// One model repository inside the Hub's cache, laid out exactly as huggingface_hub lays it out
// so either tool reuses what the other downloaded:
//
//   <cache>/models--ORG--NAME/blobs/<etag>              file contents, named by the Hub's ETag
//                                                       (sha256 for LFS files, git sha1 else)
//   <cache>/models--ORG--NAME/blobs/<etag>.incomplete   a download in progress (resumable)
//   <cache>/models--ORG--NAME/refs/<revision>           the commit a branch or tag pointed at
//   <cache>/models--ORG--NAME/snapshots/<commit>/<path> relative symlink to ../../blobs/<etag>
//   <cache>/.locks/models--ORG--NAME/<etag>.lock        held while a blob is being written
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace limarp::hub {

class RepoCache {
 public:
  RepoCache(std::string cache_dir, const std::string& repo);

  const std::string& folder() const { return folder_; }
  std::string blob_path(const std::string& etag) const;
  std::string lock_path(const std::string& etag) const;
  std::string snapshot_dir(const std::string& commit) const;
  std::string snapshot_path(const std::string& commit, const std::string& file) const;

  // The commit a revision names: itself when it is a commit hash, else refs/<revision>.
  std::optional<std::string> commit_for(const std::string& revision) const;
  Status write_ref(const std::string& revision, const std::string& commit) const;
  // Points snapshots/<commit>/<file> at the blob (replacing any older link, atomically).
  Status link_snapshot(const std::string& commit, const std::string& file, const std::string& etag) const;
  // Files present in a snapshot (links whose blob exists), relative paths, sorted.
  std::vector<std::string> snapshot_files(const std::string& commit) const;

 private:
  std::string cache_dir_, repo_folder_name_, folder_;
};

// Creates the folder and its parents; the error names the folder.
Status make_folders(const std::string& dir);

}  // namespace limarp::hub
