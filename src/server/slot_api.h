// llama.cpp's slot actions: POST /slots/{id}?action=erase|save|restore.
//   erase                               -> {"id_slot", "n_erased"}
//   save    {"filename": "chat1.bin"}   -> {"id_slot", "filename", "n_saved", "n_written", "timings": {"save_ms"}}
//   restore {"filename": "chat1.bin"}   -> {"id_slot", "filename", "n_restored", "n_read", "timings": {"restore_ms"}}
// Files live only in the --slot-save-path folder: a filename is a plain name (no path
// separator, no "..", no leading dot, printable ASCII), so no request reaches a path outside
// it; without the folder, save and restore are refused (501, as llama.cpp answers). A save is
// written beside its target and renamed into place; a restore checks the file against the
// model before the slot is touched (infer/session_file.h). A slot that is generating is
// refused (400) rather than waited for.
#pragma once

#include <string_view>

#include "base/status.h"
#include "server/router.h"
#include "server/server_context.h"

namespace limarp::server {

// Whether `name` may name a file inside the save folder; the error says why not.
Status check_slot_filename(std::string_view name);

void add_slot_routes(Router& router, const ServerContext& ctx);

}  // namespace limarp::server
