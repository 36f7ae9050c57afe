// Multi-file outputs (Hugging Face folders, PEFT adapters, checkpoints) are written into a
// temporary sibling folder and renamed into place only when complete, so a kill -9 never
// leaves a half-written folder under the real name. The temporary is named like
// AtomicFile's, `<name>.tmp.<pid>.<8 hex>`, so the next run can tell whose it was.
//
//   LIMARP_ASSIGN_OR_RETURN(AtomicFolder out, AtomicFolder::create("out/model-hf"));
//   LIMARP_TRY(write_files_into(out.path()));
//   LIMARP_TRY(out.commit());   // without commit, the destructor removes the temporary
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace limarp {

class AtomicFolder {
 public:
  static Result<AtomicFolder> create(const std::string& path);

  AtomicFolder(AtomicFolder&& other) noexcept;
  AtomicFolder& operator=(AtomicFolder&&) = delete;
  AtomicFolder(const AtomicFolder&) = delete;
  ~AtomicFolder();

  // Where to write the files.
  const std::string& path() const { return temp_path_; }
  // Renames the temporary into place. An existing folder under the final name is replaced
  // only when it looks like an earlier output (files with model, tensor or JSON extensions,
  // no subfolders); anything else is an error rather than deleted.
  Status commit();

 private:
  AtomicFolder() = default;
  std::string path_;
  std::string temp_path_;
};

// Temporaries of limarp's own naming in `dir` (`*.tmp.<pid>.<8 hex>` files and folders, and
// `checkpoint-<N>.partial` folders of older versions). Those whose process is gone are
// removed; those of a live process are left and reported.
struct StaleTemporaries {
  std::vector<std::string> removed;
  std::vector<std::string> in_use;  // another live process's write in progress
};
StaleTemporaries clean_stale_temporaries(const std::string& dir);

// A temporary name beside `path`: `<path>.tmp.<pid>.<8 hex>`.
std::string temporary_name(const std::string& path);

}  // namespace limarp
