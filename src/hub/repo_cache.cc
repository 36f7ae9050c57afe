#include "hub/repo_cache.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "hub/hub_name.h"

namespace limarp::hub {

namespace fs = std::filesystem;

Status make_folders(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create folder {}: {}", dir, ec.message());
  return {};
}

RepoCache::RepoCache(std::string cache_dir, const std::string& repo) : cache_dir_(std::move(cache_dir)) {
  std::string name = repo;
  if (const size_t slash = name.find('/'); slash != std::string::npos) name.replace(slash, 1, "--");
  repo_folder_name_ = "models--" + name;
  folder_ = (fs::path(cache_dir_) / repo_folder_name_).string();
}

std::string RepoCache::blob_path(const std::string& etag) const { return (fs::path(folder_) / "blobs" / etag).string(); }

std::string RepoCache::lock_path(const std::string& etag) const {
  return (fs::path(cache_dir_) / ".locks" / repo_folder_name_ / (etag + ".lock")).string();
}

std::string RepoCache::snapshot_dir(const std::string& commit) const {
  return (fs::path(folder_) / "snapshots" / commit).string();
}

std::string RepoCache::snapshot_path(const std::string& commit, const std::string& file) const {
  return (fs::path(snapshot_dir(commit)) / file).string();
}

std::optional<std::string> RepoCache::commit_for(const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  std::ifstream in(fs::path(folder_) / "refs" / revision);
  std::string commit;
  if (!in || !(in >> commit) || !is_commit_hash(commit)) return std::nullopt;
  return commit;
}

Status RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  // The refs folder exists even when a commit was asked for: cache scanners (@huggingface/hub's
  // scanCacheDir) reject a repository folder without one.
  LIMARP_TRY(make_folders((fs::path(folder_) / "refs").string()));
  if (revision == commit) return {};
  const fs::path ref = fs::path(folder_) / "refs" / revision;
  LIMARP_TRY(make_folders(ref.parent_path().string()));
  // huggingface_hub writes the bare hash without a newline.
  return write_file_atomic(ref.string(), commit).with_context("updating the cache's ref");
}

Status RepoCache::link_snapshot(const std::string& commit, const std::string& file, const std::string& etag) const {
  const fs::path link = snapshot_path(commit, file);
  LIMARP_TRY(make_folders(link.parent_path().string()));
  // Relative, so the cache folder can be moved or mounted elsewhere.
  const fs::path target = fs::path(blob_path(etag)).lexically_relative(link.parent_path());
  const fs::path temp = link.string() + ".linking";
  std::error_code ec;
  fs::remove(temp, ec);
  fs::create_symlink(target, temp, ec);
  if (!ec) fs::rename(temp, link, ec);
  if (ec) return make_error("cannot link {} to {}: {}", link.string(), target.string(), ec.message());
  return {};
}

std::vector<std::string> RepoCache::snapshot_files(const std::string& commit) const {
  std::vector<std::string> files;
  const fs::path dir = snapshot_dir(commit);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code e2;
    if (fs::is_regular_file(it->path(), e2))  // follows the link: a dangling one is not a file
      files.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace limarp::hub
