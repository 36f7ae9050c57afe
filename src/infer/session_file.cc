#include "infer/session_file.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "base/atomic_file.h"

namespace limarp {
namespace {

constexpr char kSessionMagic[8] = {'L', 'I', 'M', 'A', 'R', 'P', 'S', 'L'};
constexpr uint32_t kSessionVersion = 1;

struct SessionHeader {
  char magic[8];
  uint32_t version, layers, kv_dim, vocab;
  uint64_t tokens;
};
static_assert(sizeof(SessionHeader) == 32, "the header is written as raw bytes");

uint64_t session_file_bytes(uint64_t layers, uint64_t kv_dim, uint64_t tokens) {
  return sizeof(SessionHeader) + tokens * sizeof(int32_t) + layers * 2 * tokens * kv_dim * sizeof(float);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Result<SessionFileStats> save_session_file(const Session& session, const std::string& path) {
  if (session.adapter())
    return make_error("{}: this session was computed with LoRA adapters; only a base-model session can be saved", path);
  const LlamaConfig& cfg = session.model().config();
  const std::vector<int32_t>& tokens = session.tokens();
  SessionHeader h{};
  std::memcpy(h.magic, kSessionMagic, sizeof(h.magic));
  h.version = kSessionVersion;
  h.layers = static_cast<uint32_t>(cfg.n_layers);
  h.kv_dim = static_cast<uint32_t>(cfg.kv_dim());
  h.vocab = static_cast<uint32_t>(cfg.vocab_size);
  h.tokens = tokens.size();
  LIMARP_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create(path));
  LIMARP_TRY(out.write(&h, sizeof(h)));
  LIMARP_TRY(out.write(tokens.data(), tokens.size() * sizeof(int32_t)));
  std::vector<float> row(static_cast<size_t>(cfg.kv_dim()));
  const KvCache& cache = session.cache();
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    for (int which = 0; which < 2; ++which)
      for (size_t p = 0; p < tokens.size(); ++p) {
        if (which == 0) cache.read_key(l, static_cast<int64_t>(p), row.data());
        else cache.read_value(l, static_cast<int64_t>(p), row.data());
        LIMARP_TRY(out.write(row.data(), row.size() * sizeof(float)));
      }
  const uint64_t bytes = out.position();
  LIMARP_TRY(out.commit());
  return SessionFileStats{static_cast<int64_t>(tokens.size()), bytes};
}

Result<SessionFileStats> restore_session_file(Session& session, const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return make_error("{}: cannot open: {}", path, std::strerror(errno));
  SessionHeader h{};
  if (std::fread(&h, sizeof(h), 1, f.get()) != 1) return make_error("{}: too short for a slot file header", path);
  if (std::memcmp(h.magic, kSessionMagic, sizeof(h.magic)) != 0) return make_error("{}: not a limarp slot file", path);
  if (h.version != kSessionVersion)
    return make_error("{}: slot file version {}, this build reads version {}", path, h.version, kSessionVersion);
  const LlamaConfig& cfg = session.model().config();
  if (h.layers != cfg.n_layers || h.kv_dim != cfg.kv_dim() || h.vocab != cfg.vocab_size)
    return make_error("{}: saved from another model ({} layers, kv width {}, vocab {}; this one: {}, {}, {})", path,
                      h.layers, h.kv_dim, h.vocab, cfg.n_layers, cfg.kv_dim(), cfg.vocab_size);
  if (h.tokens > static_cast<uint64_t>(session.context()))
    return make_error("{}: {} tokens do not fit this slot's context of {}", path, h.tokens, session.context());
  if (std::fseek(f.get(), 0, SEEK_END) != 0) return make_error("{}: cannot seek", path);
  const long size = std::ftell(f.get());
  const uint64_t want = session_file_bytes(h.layers, h.kv_dim, h.tokens);
  if (size < 0 || static_cast<uint64_t>(size) != want)
    return make_error("{}: {} bytes, expected {} for {} tokens", path, size, want, h.tokens);
  std::fseek(f.get(), sizeof(h), SEEK_SET);
  std::vector<int32_t> tokens(h.tokens);
  if (std::fread(tokens.data(), sizeof(int32_t), tokens.size(), f.get()) != tokens.size())
    return make_error("{}: short read of the token ids", path);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= cfg.vocab_size)
      return make_error("{}: token {} is id {}, outside the vocabulary (0..{})", path, i, tokens[i], cfg.vocab_size - 1);
  // Read everything before storing anything, so a bad row leaves the session untouched.
  const size_t kv = h.kv_dim, n = tokens.size();
  std::vector<float> rows(static_cast<size_t>(h.layers) * 2 * n * kv);
  if (std::fread(rows.data(), sizeof(float), rows.size(), f.get()) != rows.size())
    return make_error("{}: short read of the cached keys and values", path);
  for (size_t i = 0; i < rows.size(); ++i)
    if (!std::isfinite(rows[i])) return make_error("{}: a cached key or value is not finite (float {})", path, i);
  session.clear();
  for (size_t l = 0; l < h.layers; ++l) {
    const float* keys = rows.data() + (l * 2) * n * kv;
    const float* values = keys + n * kv;
    if (n > 0) session.cache().store_host(static_cast<int64_t>(l), 0, static_cast<int64_t>(n), keys, values);
  }
  session.adopt_restored(std::move(tokens));
  return SessionFileStats{static_cast<int64_t>(n), want};
}

}  // namespace limarp
