#include "hub/hub_pull.h"

#include <filesystem>

#include "base/log.h"
#include "hub/downloader.h"
#include "hub/file_selection.h"
#include "hub/hub_api.h"
#include "hub/repo_cache.h"

namespace limarp::hub {

namespace fs = std::filesystem;

namespace {

std::string loader_path(const std::string& folder, const std::string& primary) {
  return primary.empty() ? folder : (fs::path(folder) / primary).string();
}

Result<PullResult> from_cache(const HubName& name, const PullOptions& options, const RepoCache& cache) {
  if (!options.local_dir.empty())
    return make_error("{}: --local-dir needs the Hub; offline, open the folder {} itself", name.display(),
                      options.local_dir);
  const auto commit = cache.commit_for(name.revision);
  if (!commit)
    return make_error("{} is not in the cache (no {}/refs/{}); run `limarp pull {}` while online", name.display(),
                      cache.folder(), name.revision, name.display());
  std::vector<std::string> files = cache.snapshot_files(*commit);
  if (files.empty())
    return make_error("{}: the cached snapshot {} holds no files; run `limarp pull {}` while online", name.display(),
                      cache.snapshot_dir(*commit), name.display());
  LIMARP_ASSIGN_OR_RETURN(Selection s, select_files(files, name, options.includes).with_context("in the cache"));
  return PullResult{loader_path(cache.snapshot_dir(*commit), s.primary), *commit, s.files};
}

}  // namespace

Result<PullResult> pull(const HubName& name, const PullOptions& options, const HubSettings& settings) {
  const RepoCache cache(settings.cache_dir, name.repo);
  if (settings.network == NetworkMode::kOffline) {
    log::debug("HF_HUB_OFFLINE is set: {} from the cache {}", name.display(), settings.cache_dir);
    return from_cache(name, options, cache).with_context("HF_HUB_OFFLINE=1");
  }
  LIMARP_ASSIGN_OR_RETURN(HttpClient http, HttpClient::create());
  HubApi api(http, settings);
  Reachability reach = Reachability::kReached;
  auto listing = api.list(name, reach);
  if (!listing.ok()) {
    if (reach == Reachability::kUnreachable && options.local_dir.empty()) {
      if (auto cached = from_cache(name, options, cache); cached.ok()) {
        log::warn("{}; using the cached snapshot {}", listing.error().message(), cached->commit);
        return cached;
      }
    }
    return listing.error().with_context(name.display());
  }
  std::vector<std::string> available;
  for (const auto& f : listing->files) available.push_back(f.path);
  LIMARP_ASSIGN_OR_RETURN(Selection s, select_files(available, name, options.includes));

  Downloader downloader(http, api);
  PullResult result{{}, listing->commit, s.files};
  for (const auto& file : s.files) {
    if (options.local_dir.empty()) LIMARP_TRY(downloader.to_cache(cache, name.repo, listing->commit, file));
    else LIMARP_TRY(downloader.to_local_dir(options.local_dir, name.repo, listing->commit, file));
  }
  if (options.local_dir.empty()) {
    // Written last, so a revision never points at a snapshot this run left incomplete.
    LIMARP_TRY(cache.write_ref(name.revision, listing->commit));
    result.path = loader_path(cache.snapshot_dir(listing->commit), s.primary);
  } else {
    result.path = loader_path(options.local_dir, s.primary);
  }
  log::info("{}: {} file{} at commit {} in {}", name.display(), s.files.size(), s.files.size() == 1 ? "" : "s",
            listing->commit.substr(0, 12), result.path);
  return result;
}

Result<std::string> resolve_model_path(const std::string& path_or_name) {
  if (!is_hub_name(path_or_name)) return path_or_name;
  LIMARP_ASSIGN_OR_RETURN(HubName name, parse_hub_name(path_or_name));
  LIMARP_ASSIGN_OR_RETURN(PullResult r, pull(name, {}, HubSettings::from_environment()));
  return r.path;
}

}  // namespace limarp::hub
