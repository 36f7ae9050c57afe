#include "formats/llama2c.h"

#include <cstring>
#include <memory>

#include "base/byte_reader.h"
#include "base/mapped_file.h"

namespace limarp {
namespace {

constexpr uint32_t kV1Magic = 0x616b3432;  // "ak42"

struct Header {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

Status validate(const Header& h) {
  auto bad = [](const char* what, int32_t v) { return make_error("implausible {} {} in header", what, v); };
  if (h.dim <= 0 || h.dim > (1 << 16)) return bad("dim", h.dim);
  if (h.hidden_dim <= 0 || h.hidden_dim > (1 << 18)) return bad("hidden_dim", h.hidden_dim);
  if (h.n_layers <= 0 || h.n_layers > 1024) return bad("n_layers", h.n_layers);
  if (h.n_heads <= 0 || h.n_heads > h.dim || h.dim % h.n_heads != 0) return bad("n_heads", h.n_heads);
  if (h.n_kv_heads <= 0 || h.n_kv_heads > h.n_heads || h.n_heads % h.n_kv_heads != 0)
    return bad("n_kv_heads", h.n_kv_heads);
  if (h.vocab_size <= 0 || h.vocab_size > (1 << 22)) return bad("vocab_size", h.vocab_size);
  if (h.seq_len <= 0 || h.seq_len > (1 << 22)) return bad("seq_len", h.seq_len);
  if ((h.dim / h.n_heads) % 2 != 0) return make_error("head size {} is odd", h.dim / h.n_heads);
  return {};
}

void set_hparams(TensorStore& s, const Header& h) {
  auto& m = s.metadata;
  m.set("general.architecture", MetaValue::str("llama"));
  m.set("llama.context_length", MetaValue::u32(static_cast<uint32_t>(h.seq_len)));
  m.set("llama.embedding_length", MetaValue::u32(static_cast<uint32_t>(h.dim)));
  m.set("llama.block_count", MetaValue::u32(static_cast<uint32_t>(h.n_layers)));
  m.set("llama.feed_forward_length", MetaValue::u32(static_cast<uint32_t>(h.hidden_dim)));
  m.set("llama.rope.dimension_count", MetaValue::u32(static_cast<uint32_t>(h.dim / h.n_heads)));
  m.set("llama.attention.head_count", MetaValue::u32(static_cast<uint32_t>(h.n_heads)));
  m.set("llama.attention.head_count_kv", MetaValue::u32(static_cast<uint32_t>(h.n_kv_heads)));
  m.set("llama.attention.layer_norm_rms_epsilon", MetaValue::f32(1e-5f));
  m.set("llama.rope.freq_base", MetaValue::f32(10000.0f));
  m.set("llama.vocab_size", MetaValue::u32(static_cast<uint32_t>(h.vocab_size)));
}

// Lays out consecutive float32 arrays from `data`, naming each.
class Cursor {
 public:
  Cursor(TensorStore& s, const uint8_t* data) : store_(s), p_(data) {}
  void take(const std::string& name, Shape shape) {
    const int64_t n = shape_elements(shape);
    store_.add(name, TensorView{DType::kF32, std::move(shape), p_, static_cast<uint64_t>(n) * 4});
    p_ += n * 4;
  }
  void per_layer(int32_t layers, const char* suffix, const Shape& shape) {
    for (int32_t l = 0; l < layers; ++l) take(fmt::format("blk.{}.{}", l, suffix), shape);
  }
  void skip(int64_t floats) { p_ += floats * 4; }

 private:
  TensorStore& store_;
  const uint8_t* p_;
};

uint64_t weight_floats(const Header& h, bool shared) {
  const uint64_t dim = h.dim, hid = h.hidden_dim, L = h.n_layers, V = h.vocab_size;
  const uint64_t kv = dim / h.n_heads * h.n_kv_heads;
  uint64_t n = V * dim + 2 * L * dim + dim;                  // embedding, norms, final norm
  n += L * (dim * dim * 2 + kv * dim * 2);                    // wq, wo, wk, wv
  n += L * hid * dim * 3;                                     // w1, w2, w3
  if (!shared) n += V * dim;
  return n;
}

}  // namespace

bool looks_like_llama2c(std::span<const uint8_t> bytes) {
  if (bytes.size() < 28) return false;
  uint32_t magic;
  std::memcpy(&magic, bytes.data(), 4);
  if (magic == kV1Magic) return true;
  Header h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  h.vocab_size = h.vocab_size < 0 ? -h.vocab_size : h.vocab_size;
  return validate(h).ok();
}

Result<TensorStore> parse_llama2c(std::span<const uint8_t> bytes, const std::string& source) {
  auto fail = [&](const Error& e) { return e.with_context(source); };
  ByteReader r(bytes);
  Header h{};
  bool shared = true;
  bool v1 = false;
  auto magic = r.read<uint32_t>("magic");
  if (!magic.ok()) return fail(magic.error());
  if (*magic == kV1Magic) {
    v1 = true;
    auto version = r.read<int32_t>("version");
    if (!version.ok()) return fail(version.error());
    if (*version != 1)
      return fail(make_error("llama2.c export version {} is not supported (1 and legacy are)", *version));
    auto hdr = r.read<Header>("header");
    if (!hdr.ok()) return fail(hdr.error());
    h = *hdr;
    auto flag = r.read<uint8_t>("shared_classifier flag");
    if (!flag.ok()) return fail(flag.error());
    if (*flag > 1) return fail(make_error("shared_classifier flag {} is not 0 or 1", *flag));
    shared = *flag == 1;
    if (bytes.size() < 256) return fail(make_error("file of {} bytes is shorter than the 256-byte header", bytes.size()));
  } else {
    r = ByteReader(bytes);
    auto hdr = r.read<Header>("header");
    if (!hdr.ok()) return fail(hdr.error());
    h = *hdr;
    shared = h.vocab_size > 0;
    if (h.vocab_size < 0) h.vocab_size = -h.vocab_size;
  }
  if (auto s = validate(h); !s.ok()) return fail(s.error());

  const uint64_t header_bytes = v1 ? 256 : 28;
  const uint64_t head = static_cast<uint64_t>(h.dim / h.n_heads);
  const uint64_t rope_floats = v1 ? 0 : static_cast<uint64_t>(h.seq_len) * head;  // two tables of head/2
  const uint64_t expected = header_bytes + 4 * (weight_floats(h, shared) + rope_floats);
  if (bytes.size() != expected)
    return fail(make_error("{} bytes, but a llama2.c {} checkpoint with dim {}, hidden {}, {} layers, {} heads, "
                           "{} kv heads, vocab {}, seq {} ({} classifier) has {}; truncated or not llama2.c?",
                           bytes.size(), v1 ? "v1" : "legacy", h.dim, h.hidden_dim, h.n_layers, h.n_heads,
                           h.n_kv_heads, h.vocab_size, h.seq_len, shared ? "shared" : "separate", expected));

  TensorStore store;
  store.format = FileFormat::kLlama2c;
  store.source = source;
  set_hparams(store, h);
  const int64_t dim = h.dim, hid = h.hidden_dim, V = h.vocab_size;
  const int64_t kv = dim / h.n_heads * h.n_kv_heads;
  const int32_t L = h.n_layers;
  Cursor c(store, bytes.data() + header_bytes);
  if (v1) {
    c.per_layer(L, "attn_norm.weight", {dim});
    c.per_layer(L, "ffn_norm.weight", {dim});
    c.take("output_norm.weight", {dim});
    c.take("token_embd.weight", {V, dim});
  } else {
    c.take("token_embd.weight", {V, dim});
    c.per_layer(L, "attn_norm.weight", {dim});
  }
  c.per_layer(L, "attn_q.weight", {dim, dim});
  c.per_layer(L, "attn_k.weight", {kv, dim});
  c.per_layer(L, "attn_v.weight", {kv, dim});
  c.per_layer(L, "attn_output.weight", {dim, dim});
  if (!v1) c.per_layer(L, "ffn_norm.weight", {dim});
  c.per_layer(L, "ffn_gate.weight", {hid, dim});   // w1
  c.per_layer(L, "ffn_down.weight", {dim, hid});   // w2
  c.per_layer(L, "ffn_up.weight", {hid, dim});     // w3
  if (!v1) {
    c.take("output_norm.weight", {dim});
    c.skip(static_cast<int64_t>(rope_floats));
  }
  if (!shared) c.take("output.weight", {V, dim});
  return store;
}

Result<TensorStore> read_llama2c(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  auto shared = std::make_shared<MappedFile>(std::move(file));
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, parse_llama2c(shared->bytes(), path));
  store.keep_alive(shared);
  return store;
}

Result<Llama2cVocab> read_llama2c_tokenizer(const std::string& path, int64_t vocab_size) {
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  ByteReader r(file.bytes());
  auto fail = [&](const Error& e) { return e.with_context(path); };
  auto max_len = r.read<int32_t>("max_token_length");
  if (!max_len.ok()) return fail(max_len.error());
  if (*max_len <= 0 || *max_len > 65536) return fail(make_error("implausible max_token_length {}", *max_len));
  Llama2cVocab vocab;
  for (int64_t i = 0; vocab_size < 0 ? !r.at_end() : i < vocab_size; ++i) {
    auto score = r.read<float>(fmt::format("score of token {}", i));
    if (!score.ok()) return fail(score.error());
    auto len = r.read<int32_t>(fmt::format("length of token {}", i));
    if (!len.ok()) return fail(len.error());
    if (*len < 0 || *len > *max_len)
      return fail(make_error("token {} has length {} (max_token_length is {})", i, *len, *max_len));
    auto text = r.read_string(static_cast<uint64_t>(*len), fmt::format("token {}", i));
    if (!text.ok()) return fail(text.error());
    vocab.pieces.emplace_back(*text);
    vocab.scores.push_back(*score);
    if (vocab.pieces.size() > (1u << 22)) return fail(make_error("more than 4M tokens"));
  }
  if (vocab.pieces.empty()) return fail(make_error("no tokens"));
  return vocab;
}

}  // namespace limarp
