#include "hub/downloader.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/atomic_file.h"
#include "base/log.h"
#include "hub/download_progress.h"
#include "hub/file_lock.h"
#include "hub/sha256.h"

namespace limarp::hub {

namespace fs = std::filesystem;

namespace {

// Retries within one run after a dropped connection; later runs resume from disk anyway.
constexpr int kResumeAttempts = 5;

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

std::string base_name(const std::string& file) { return fs::path(file).filename().string(); }

}  // namespace

Status Downloader::fetch(const std::string& repo, const std::string& commit, const std::string& file,
                         const FileHead& head, const std::string& incomplete, const std::string& destination) {
  const std::string what = fmt::format("{} from {}", file, repo);
  int64_t offset = file_size_or_zero(incomplete);
  if (head.size >= 0 && offset > head.size) offset = 0;  // not this file's beginning: start over
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(incomplete.c_str(), offset > 0 ? "r+b" : "wb"), std::fclose);
  if (!out) return make_error("cannot write {}: {}", incomplete, std::strerror(errno));
  if (offset > 0) {
    std::fseek(out.get(), offset, SEEK_SET);
    log::info("resuming {} at {} of {}", what, human_bytes(static_cast<double>(offset)),
              human_bytes(static_cast<double>(head.size)));
  }

  DownloadProgress progress(base_name(file), head.size, offset);
  bool write_failed = false;
  for (int attempt = 0;; ++attempt) {
    HttpRequest req{api_.resolve_url(repo, commit, file)};
    req.headers = api_.auth_headers();
    req.headers.push_back("Accept-Encoding: identity");
    const int64_t start = offset;
    if (start > 0) req.headers.push_back(fmt::format("Range: bytes={}-", start));
    bool restarted = false;
    const BodySink sink = [&](long status, std::span<const char> chunk) {
      if (status >= 300) return true;  // an error page: kept out of the file, reported below
      if (status == 200 && start > 0 && !restarted) {
        // The server ignored the range and sends the whole file: write it from the start.
        restarted = true;
        offset = 0;
        if (std::fflush(out.get()) != 0 || ftruncate(fileno(out.get()), 0) != 0) return !(write_failed = true);
        std::rewind(out.get());
      }
      if (std::fwrite(chunk.data(), 1, chunk.size(), out.get()) != chunk.size()) return !(write_failed = true);
      offset += static_cast<int64_t>(chunk.size());
      return true;
    };
    const HttpResponse r = http_.stream(req, sink, [&](int64_t) { progress.update(offset); });
    if (write_failed) return make_error("writing {}: {}", incomplete, std::strerror(errno));
    if (r.failure == TransportFailure::kNone && r.status == 416 && head.size >= 0 && start == head.size) break;
    if (r.failure == TransportFailure::kNone && (r.status == 200 || r.status == 206)) break;
    if (r.failure == TransportFailure::kNone || r.failure == TransportFailure::kUnreachable)
      return api_.failure(r, repo, commit, file).with_context(fmt::format("downloading {}", file));
    std::fflush(out.get());
    if (attempt + 1 >= kResumeAttempts)
      return make_error("downloading {}: {} after {} of {}; run the same command again to resume from {}", what,
                        r.failure_message, human_bytes(static_cast<double>(offset)),
                        human_bytes(static_cast<double>(head.size)), incomplete);
    log::warn("downloading {}: {} after {}; resuming", what, r.failure_message, human_bytes(static_cast<double>(offset)));
  }
  progress.finish();
  if (std::fflush(out.get()) != 0 || fsync(fileno(out.get())) != 0)
    return make_error("writing {}: {}", incomplete, std::strerror(errno));
  out.reset();

  const int64_t got = file_size_or_zero(incomplete);
  if (head.size >= 0 && got != head.size) {
    std::remove(incomplete.c_str());
    return make_error("{}: received {} bytes, the Hub announced {}; the partial file was deleted, run again to "
                      "download it afresh",
                      what, got, head.size);
  }
  if (head.lfs) {
    LIMARP_ASSIGN_OR_RETURN(std::string sha, sha256_file(incomplete));
    if (sha != head.etag) {
      std::remove(incomplete.c_str());
      return make_error("{}: sha256 {} does not match the Hub's {} (corrupted in transit or in storage); the "
                        "download was deleted, nothing was put in place",
                        what, sha, head.etag);
    }
  }
  if (std::rename(incomplete.c_str(), destination.c_str()) != 0)
    return make_error("cannot rename {} to {}: {}", incomplete, destination, std::strerror(errno));
  return {};
}

Result<std::string> Downloader::to_cache(const RepoCache& cache, const std::string& repo, const std::string& commit,
                                         const std::string& file) {
  const std::string pointer = cache.snapshot_path(commit, file);
  std::error_code ec;
  if (fs::is_regular_file(pointer, ec)) return pointer;
  LIMARP_ASSIGN_OR_RETURN(FileHead head, api_.head(repo, commit, file));
  const std::string blob = cache.blob_path(head.etag);
  if (!fs::exists(blob, ec)) {
    LIMARP_TRY(make_folders(fs::path(blob).parent_path().string()));
    LIMARP_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(cache.lock_path(head.etag)));
    if (!fs::exists(blob, ec))  // another process may have finished it while we waited
      LIMARP_TRY(fetch(repo, commit, file, head, blob + ".incomplete", blob));
  }
  LIMARP_TRY(cache.link_snapshot(commit, file, head.etag));
  return pointer;
}

Result<std::string> Downloader::to_local_dir(const std::string& dir, const std::string& repo, const std::string& commit,
                                             const std::string& file) {
  const fs::path target = fs::path(dir) / file;
  const fs::path meta = fs::path(dir) / ".cache" / "huggingface" / "download" / (file + ".metadata");
  LIMARP_ASSIGN_OR_RETURN(FileHead head, api_.head(repo, commit, file));
  // The metadata file records which version is on disk: "<commit>\n<etag>\n<unix time>\n".
  std::error_code ec;
  if (fs::is_regular_file(target, ec)) {
    std::ifstream in(meta);
    std::string old_commit, old_etag;
    if (in >> old_commit >> old_etag && old_etag == head.etag) return target.string();
  }
  LIMARP_TRY(make_folders(target.parent_path().string()));
  LIMARP_TRY(make_folders(meta.parent_path().string()));
  LIMARP_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(meta.string() + ".lock"));
  const std::string incomplete = fs::path(meta).replace_extension(head.etag + ".incomplete").string();
  LIMARP_TRY(fetch(repo, commit, file, head, incomplete, target.string()));
  LIMARP_TRY(write_file_atomic(meta.string(), fmt::format("{}\n{}\n{}\n", head.commit, head.etag,
                                                          std::chrono::duration_cast<std::chrono::seconds>(
                                                              std::chrono::system_clock::now().time_since_epoch())
                                                              .count())));
  return target.string();
}

}  // namespace limarp::hub
