// A session's cached tokens and their keys and values in a file, so a conversation can be put
// aside and picked up later without evaluating its prompt again (llama.cpp's slot save and
// restore). The rows are stored as f32 whatever the cache's element type: an f16 cache
// round-trips exactly, and a file saved from one cache type restores into the other.
//
//   LIMARP_ASSIGN_OR_RETURN(SessionFileStats saved, save_session_file(session, "slots/chat1.bin"));
//   LIMARP_ASSIGN_OR_RETURN(SessionFileStats read, restore_session_file(session, "slots/chat1.bin"));
//
// Layout (little-endian): "LIMARPSL", u32 version (1), u32 layers, u32 kv_dim, u32 vocab,
// u64 tokens n, i32 ids[n], then per layer the keys [n][kv_dim] and the values [n][kv_dim] as
// f32. Restoring checks every header field against the model, the file size against the
// header, the ids against the vocabulary and n against the context, before touching the
// session; a file that fails any check leaves the session as it was.
#pragma once

#include <cstdint>
#include <string>

#include "infer/session.h"

namespace limarp {

struct SessionFileStats {
  int64_t tokens = 0;
  uint64_t bytes = 0;
};

// Written to a temporary file and renamed into place. A session computed with an adapter is
// refused: the file could not say which weights its values came from.
Result<SessionFileStats> save_session_file(const Session& session, const std::string& path);
Result<SessionFileStats> restore_session_file(Session& session, const std::string& path);

}  // namespace limarp
