// SentencePiece tokenizer.model reader: a protobuf ModelProto parsed by hand (only the
// fields a BPE vocabulary needs), bounds-checked like every other file reader.
//   ModelProto      { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                     NormalizerSpec normalizer_spec = 3; }
//   SentencePiece   { string piece = 1; float score = 2; Type type = 3; }
//   TrainerSpec     { model_type = 3; byte_fallback = 35; unk_id = 40; bos_id = 41; eos_id = 42; }
//   NormalizerSpec  { name = 1; add_dummy_prefix = 3; remove_extra_whitespaces = 4; }
#include "base/byte_reader.h"
#include "base/mapped_file.h"
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

}  // namespace

Result<Vocab> load_sentencepiece_vocab(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  auto fail = [&](const Error& e) { return e.with_context(path); };
  Vocab v;
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  int64_t model_type = 1;  // UNIGRAM unless the trainer spec says otherwise
  std::string normalizer = "nmt_nfkc";
  bool remove_extra_ws = true;
  ByteReader r(file.bytes());
  while (!r.at_end()) {
    auto field = read_field(r);
    if (!field.ok()) return fail(field.error());
    if (field->number == 1 && field->wire == 2) {
      ByteReader pr(field->bytes);
      std::string piece;
      float score = 0;
      int64_t type = 1;
      while (!pr.at_end()) {
        auto pf = read_field(pr);
        if (!pf.ok()) return fail(pf.error().with_context(fmt::format("piece {}", v.pieces.size())));
        if (pf->number == 1 && pf->wire == 2) piece.assign(pf->bytes.begin(), pf->bytes.end());
        else if (pf->number == 2 && pf->wire == 5) std::memcpy(&score, &pf->fixed32, 4);
        else if (pf->number == 3 && pf->wire == 0) type = static_cast<int64_t>(pf->varint);
      }
      if (type < 1 || type > 6) return fail(make_error("piece {} has unknown type {}", v.pieces.size(), type));
      v.pieces.push_back(std::move(piece));
      v.scores.push_back(score);
      v.types.push_back(static_cast<TokenType>(type));
    } else if (field->number == 2 && field->wire == 2) {
      ByteReader tr(field->bytes);
      while (!tr.at_end()) {
        auto tf = read_field(tr);
        if (!tf.ok()) return fail(tf.error().with_context("trainer_spec"));
        // int32 fields: negative values arrive as 64-bit two's complement varints.
        const auto as_i32 = static_cast<int32_t>(static_cast<int64_t>(tf->varint));
        if (tf->wire != 0) continue;
        if (tf->number == 3) model_type = as_i32;
        else if (tf->number == 40) v.unk_id = as_i32;
        else if (tf->number == 41) v.bos_id = as_i32;
        else if (tf->number == 42) v.eos_id = as_i32;
      }
    } else if (field->number == 3 && field->wire == 2) {
      ByteReader nr(field->bytes);
      while (!nr.at_end()) {
        auto nf = read_field(nr);
        if (!nf.ok()) return fail(nf.error().with_context("normalizer_spec"));
        if (nf->number == 1 && nf->wire == 2) normalizer.assign(nf->bytes.begin(), nf->bytes.end());
        else if (nf->number == 3 && nf->wire == 0) v.add_space_prefix = nf->varint != 0;
        else if (nf->number == 4 && nf->wire == 0) remove_extra_ws = nf->varint != 0;
      }
    }
  }
  if (v.pieces.empty()) return fail(make_error("no pieces: not a SentencePiece model?"));
  if (model_type != 2)
    return fail(make_error("SentencePiece model type {} is not BPE; only BPE vocabularies (Llama) are supported",
                           model_type));
  if (normalizer != "identity")
    return fail(make_error("normalizer {:?} is not supported (Llama tokenizers use \"identity\")", normalizer));
  if (remove_extra_ws)
    return fail(make_error("remove_extra_whitespaces is not supported (Llama tokenizers keep whitespace)"));
  LIMARP_TRY(v.validate(path));
  return v;
}

}  // namespace limarp
