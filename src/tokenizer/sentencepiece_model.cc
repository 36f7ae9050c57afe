// SentencePiece tokenizer.model reader: a protobuf ModelProto parsed by hand (only the
// fields a BPE vocabulary needs), bounds-checked like every other file reader.
//   ModelProto      { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                     NormalizerSpec normalizer_spec = 3; NormalizerSpec denormalizer_spec = 5; }
//   SentencePiece   { string piece = 1; float score = 2; Type type = 3; }
//   TrainerSpec     { model_type = 3; treat_whitespace_as_suffix = 24; byte_fallback = 35;
//                     unk_surface = 44; bos_piece = 46; eos_piece = 47; }
//   NormalizerSpec  { name = 1; precompiled_charsmap = 2; add_dummy_prefix = 3;
//                     remove_extra_whitespaces = 4; escape_whitespaces = 5; }
// A file libsentencepiece refuses (empty or duplicate pieces, no <unk>, byte pieces without
// byte_fallback) is refused here too, with the same reason; a normalization we do not
// implement (anything but Llama's identity rule) is refused rather than silently ignored.
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "base/byte_reader.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {
namespace {

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;
  std::span<const uint8_t> bytes;  // wire type 2
  uint32_t fixed32 = 0;
};

Result<uint64_t> read_varint(ByteReader& r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    LIMARP_ASSIGN_OR_RETURN(uint8_t b, r.read<uint8_t>("varint"));
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  return make_error("varint longer than 10 bytes at byte {}", r.position());
}

Result<Field> read_field(ByteReader& r) {
  LIMARP_ASSIGN_OR_RETURN(uint64_t key, read_varint(r));
  Field f;
  f.number = static_cast<uint32_t>(key >> 3);
  f.wire = static_cast<uint32_t>(key & 7);
  if (f.number == 0) return make_error("protobuf field number 0 at byte {}", r.position());
  switch (f.wire) {
    case 0: { LIMARP_ASSIGN_OR_RETURN(f.varint, read_varint(r)); break; }
    case 1: { LIMARP_TRY(r.skip(8, "fixed64")); break; }
    case 2: {
      LIMARP_ASSIGN_OR_RETURN(uint64_t len, read_varint(r));
      LIMARP_ASSIGN_OR_RETURN(f.bytes, r.read_bytes(len, "length-delimited field"));
      break;
    }
    case 5: { LIMARP_ASSIGN_OR_RETURN(f.fixed32, r.read<uint32_t>("fixed32")); break; }
    default: return make_error("unsupported protobuf wire type {} at byte {}", f.wire, r.position());
  }
  return f;
}

std::string as_string(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }

struct TrainerSpec {
  int64_t model_type = 1;  // UNIGRAM unless it says otherwise
  bool byte_fallback = false;
  bool whitespace_as_suffix = false;
  std::string bos_piece = "<s>";
  std::string eos_piece = "</s>";
  std::optional<std::string> unk_surface;
};

struct NormalizerSpec {
  std::string name;
  bool has_charsmap = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

Status parse_trainer_spec(std::span<const uint8_t> bytes, TrainerSpec& t) {
  ByteReader r(bytes);
  while (!r.at_end()) {
    LIMARP_ASSIGN_OR_RETURN(Field f, read_field(r));
    if (f.wire == 0) {
      if (f.number == 3) t.model_type = static_cast<int32_t>(static_cast<int64_t>(f.varint));
      else if (f.number == 24) t.whitespace_as_suffix = f.varint != 0;
      else if (f.number == 35) t.byte_fallback = f.varint != 0;
    } else if (f.wire == 2) {
      if (f.number == 44) t.unk_surface = as_string(f.bytes);
      else if (f.number == 46) t.bos_piece = as_string(f.bytes);
      else if (f.number == 47) t.eos_piece = as_string(f.bytes);
    }
  }
  return {};
}

Status parse_normalizer_spec(std::span<const uint8_t> bytes, NormalizerSpec& n) {
  ByteReader r(bytes);
  while (!r.at_end()) {
    LIMARP_ASSIGN_OR_RETURN(Field f, read_field(r));
    if (f.wire == 2 && f.number == 1) n.name = as_string(f.bytes);
    else if (f.wire == 2 && f.number == 2) n.has_charsmap = !f.bytes.empty();
    else if (f.wire == 0 && f.number == 3) n.add_dummy_prefix = f.varint != 0;
    else if (f.wire == 0 && f.number == 4) n.remove_extra_whitespaces = f.varint != 0;
    else if (f.wire == 0 && f.number == 5) n.escape_whitespaces = f.varint != 0;
  }
  return {};
}

Status parse_piece(std::span<const uint8_t> bytes, Vocab& v) {
  ByteReader r(bytes);
  std::string piece;
  float score = 0;
  uint64_t type = 1;
  while (!r.at_end()) {
    LIMARP_ASSIGN_OR_RETURN(Field f, read_field(r));
    if (f.number == 1 && f.wire == 2) piece = as_string(f.bytes);
    else if (f.number == 2 && f.wire == 5) std::memcpy(&score, &f.fixed32, 4);
    else if (f.number == 3 && f.wire == 0) type = f.varint;
  }
  if (type < 1 || type > 6) return make_error("unknown piece type {}", type);
  v.pieces.push_back(std::move(piece));
  v.scores.push_back(score);
  v.types.push_back(static_cast<TokenType>(type));
  return {};
}

// The checks libsentencepiece makes when it loads a model (model_interface.cc).
Status check_like_sentencepiece(const Vocab& v, const TrainerSpec& t) {
  std::unordered_map<std::string_view, size_t> mergeable, reserved;
  int byte_count = 0;
  int64_t unk = -1;
  for (size_t i = 0; i < v.pieces.size(); ++i) {
    const std::string& p = v.pieces[i];
    const TokenType type = v.types[i];
    if (p.empty()) return make_error("piece {} is empty", i);
    const bool is_mergeable =
        type == TokenType::kNormal || type == TokenType::kUserDefined || type == TokenType::kUnused;
    auto [it, fresh] = (is_mergeable ? mergeable : reserved).emplace(p, i);
    if (!fresh) return make_error("piece {} ({:?}) duplicates piece {}", i, p, it->second);
    if (type == TokenType::kUnknown) {
      if (unk >= 0) return make_error("pieces {} and {} are both <unk>", unk, i);
      unk = static_cast<int64_t>(i);
    }
    if (type == TokenType::kByte) {
      if (!t.byte_fallback) return make_error("byte piece {:?} but byte_fallback is off", p);
      ++byte_count;
    }
  }
  if (unk < 0) return make_error("no <unk> piece");
  if (t.byte_fallback && byte_count != 256)
    return make_error("byte_fallback is on but there are {} byte pieces, not 256", byte_count);
  return {};
}

int32_t find_control(const Vocab& v, const std::string& piece) {
  for (size_t i = 0; i < v.pieces.size(); ++i)
    if (v.types[i] == TokenType::kControl && v.pieces[i] == piece) return static_cast<int32_t>(i);
  return -1;
}

}  // namespace

Result<Vocab> parse_sentencepiece_vocab(std::span<const uint8_t> bytes, const std::string& source) {
  auto fail = [&](const Error& e) { return e.with_context(source); };
  Vocab v;
  TrainerSpec trainer;
  NormalizerSpec normalizer;
  bool has_normalizer = false;
  ByteReader r(bytes);
  while (!r.at_end()) {
    auto field = read_field(r);
    if (!field.ok()) return fail(field.error());
    if (field->wire != 2) continue;
    Status s;
    if (field->number == 1) {
      s = parse_piece(field->bytes, v).with_context(fmt::format("piece {}", v.pieces.size()));
      if (v.pieces.size() > (size_t{1} << 22)) return fail(make_error("more than 4M pieces"));
    } else if (field->number == 2) {
      s = parse_trainer_spec(field->bytes, trainer).with_context("trainer_spec");
    } else if (field->number == 3) {
      s = parse_normalizer_spec(field->bytes, normalizer).with_context("normalizer_spec");
      has_normalizer = true;
    } else if (field->number == 5) {
      NormalizerSpec denormalizer;
      s = parse_normalizer_spec(field->bytes, denormalizer).with_context("denormalizer_spec");
      if (s.ok() && denormalizer.has_charsmap)
        return fail(make_error("a denormalizer is not supported (Llama tokenizers have none)"));
    }
    if (!s.ok()) return fail(s.error());
  }
  if (v.pieces.empty()) return fail(make_error("no pieces: not a SentencePiece model?"));
  if (trainer.model_type != 2)
    return fail(make_error("SentencePiece model type {} is not BPE; only BPE vocabularies (Llama) are supported",
                           trainer.model_type));
  if (!has_normalizer || normalizer.has_charsmap)
    return fail(make_error("normalizer {:?} is not supported (Llama tokenizers use \"identity\")", normalizer.name));
  if (!normalizer.escape_whitespaces)
    return fail(make_error("escape_whitespaces=false is not supported (Llama tokenizers write spaces as \"▁\")"));
  if (trainer.whitespace_as_suffix) return fail(make_error("treat_whitespace_as_suffix is not supported"));
  if (Status s = check_like_sentencepiece(v, trainer); !s.ok()) return fail(s.error());

  v.add_space_prefix = normalizer.add_dummy_prefix;
  v.remove_extra_whitespaces = normalizer.remove_extra_whitespaces;
  if (trainer.unk_surface) v.unk_surface = *trainer.unk_surface;
  for (size_t i = 0; i < v.types.size(); ++i)
    if (v.types[i] == TokenType::kUnknown) v.unk_id = static_cast<int32_t>(i);
  // As libsentencepiece: BOS/EOS are the control pieces named by the trainer spec, or none.
  v.bos_id = find_control(v, trainer.bos_piece);
  v.eos_id = find_control(v, trainer.eos_piece);
  LIMARP_TRY(v.validate(source));
  return v;
}

}  // namespace limarp
