#include "tokenizer/vocab.h"

#include <cstdint>

namespace limarp {

int byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece[5] != '>') return -1;
  int v = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = piece[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

Status Vocab::validate(const std::string& source) const {
  if (pieces.empty()) return make_error("{}: empty vocabulary", source);
  if (scores.size() != pieces.size() || types.size() != pieces.size())
    return make_error("{}: {} pieces but {} scores and {} types", source, pieces.size(), scores.size(), types.size());
  auto check_id = [&](const char* what, int32_t id) -> Status {
    if (id < -1 || id >= size()) return make_error("{}: {} id {} is outside the vocabulary of {}", source, what, id, size());
    return {};
  };
  LIMARP_TRY(check_id("bos", bos_id));
  LIMARP_TRY(check_id("eos", eos_id));
  LIMARP_TRY(check_id("unknown", unk_id));
  for (size_t i = 0; i < types.size(); ++i) {
    const auto t = static_cast<int32_t>(types[i]);
    if (t < 1 || t > 6) return make_error("{}: token {} has unknown type {}", source, i, t);
  }
  return {};
}

Result<Vocab> Vocab::from_gguf_metadata(const Metadata& m, const std::string& source) {
  auto model = m.get_string("tokenizer.ggml.model");
  if (!model) return make_error("{}: no tokenizer in this file (tokenizer.ggml.model missing)", source);
  if (*model != "llama")
    return make_error("{}: tokenizer model {} is not supported (only SentencePiece \"llama\")", source, *model);
  const MetaValue* tokens = m.find("tokenizer.ggml.tokens");
  if (!tokens || !tokens->as_array() || tokens->as_array()->elem_type() != MetaType::kString)
    return make_error("{}: tokenizer.ggml.tokens is missing or not a string array", source);
  Vocab v;
  v.pieces = tokens->as_array()->strings();
  const size_t n = v.pieces.size();
  v.scores.assign(n, 0.0f);
  v.types.assign(n, TokenType::kNormal);
  if (const MetaValue* s = m.find("tokenizer.ggml.scores")) {
    const MetaArray* a = s->as_array();
    if (!a || a->size() != n || !(a->elem_type() == MetaType::kF32 || a->elem_type() == MetaType::kF64))
      return make_error("{}: tokenizer.ggml.scores must be {} floats", source, n);
    for (size_t i = 0; i < n; ++i) v.scores[i] = static_cast<float>(*a->double_at(i));
  }
  if (const MetaValue* s = m.find("tokenizer.ggml.token_type")) {
    const MetaArray* a = s->as_array();
    if (!a || a->size() != n || (!a->empty() && !a->int_at(0)))
      return make_error("{}: tokenizer.ggml.token_type must be {} integers", source, n);
    for (size_t i = 0; i < n; ++i) {
      auto t = a->int_at(i);
      if (!t || *t < 1 || *t > 6) return make_error("{}: token {} has unknown type {}", source, i, t.value_or(-1));
      v.types[i] = static_cast<TokenType>(*t);
    }
  }
  auto id = [&](const char* key, int32_t def) -> int32_t {
    const int64_t x = m.get_int(key).value_or(def);
    return x < -1 || x > INT32_MAX ? -2 : static_cast<int32_t>(x);  // -2: validate() names it
  };
  v.bos_id = id("tokenizer.ggml.bos_token_id", 1);
  v.eos_id = id("tokenizer.ggml.eos_token_id", 2);
  v.unk_id = id("tokenizer.ggml.unknown_token_id", 0);
  if (!m.find("tokenizer.ggml.token_type")) {
    // Early GGUF files have no token types: infer Llama's (<0xNN> pieces are bytes, the
    // special ids are what they say).
    for (size_t i = 0; i < n; ++i) {
      const std::string& p = v.pieces[i];
      if (byte_piece_value(p) >= 0) v.types[i] = TokenType::kByte;
    }
    auto mark = [&](int32_t i, TokenType t) {
      if (i >= 0 && static_cast<size_t>(i) < n) v.types[static_cast<size_t>(i)] = t;
    };
    mark(v.bos_id, TokenType::kControl);
    mark(v.eos_id, TokenType::kControl);
    mark(v.unk_id, TokenType::kUnknown);
  }
  v.add_bos = m.get_int("tokenizer.ggml.add_bos_token").value_or(1) != 0;
  v.add_eos = m.get_int("tokenizer.ggml.add_eos_token").value_or(0) != 0;
  v.add_space_prefix = m.get_int("tokenizer.ggml.add_space_prefix").value_or(1) != 0;
  v.remove_extra_whitespaces = m.get_int("tokenizer.ggml.remove_extra_whitespaces").value_or(0) != 0;
  LIMARP_TRY(v.validate(source));
  return v;
}

void Vocab::to_gguf_metadata(Metadata& m) const {
  m.set("tokenizer.ggml.model", MetaValue::str("llama"));
  m.set("tokenizer.ggml.tokens", MetaValue::string_array(pieces));
  m.set("tokenizer.ggml.scores", MetaValue::f32_array(scores));
  std::vector<int32_t> t(types.size());
  for (size_t i = 0; i < types.size(); ++i) t[i] = static_cast<int32_t>(types[i]);
  m.set("tokenizer.ggml.token_type", MetaValue::i32_array(t));
  m.set("tokenizer.ggml.bos_token_id", MetaValue::u32(static_cast<uint32_t>(bos_id)));
  m.set("tokenizer.ggml.eos_token_id", MetaValue::u32(static_cast<uint32_t>(eos_id)));
  m.set("tokenizer.ggml.unknown_token_id", MetaValue::u32(static_cast<uint32_t>(unk_id)));
  m.set("tokenizer.ggml.add_bos_token", MetaValue::boolean(add_bos));
  m.set("tokenizer.ggml.add_eos_token", MetaValue::boolean(add_eos));
  if (!add_space_prefix) m.set("tokenizer.ggml.add_space_prefix", MetaValue::boolean(false));
  if (remove_extra_whitespaces) m.set("tokenizer.ggml.remove_extra_whitespaces", MetaValue::boolean(true));
}

}  // namespace limarp
