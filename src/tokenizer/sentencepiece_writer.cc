#include "tokenizer/sentencepiece_writer.h"

#include <cstring>

#include "base/atomic_file.h"

namespace limarp {
namespace {

class ProtoWriter {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void key(uint32_t field, uint32_t wire) { varint((uint64_t{field} << 3) | wire); }
  void int_field(uint32_t field, int64_t v) {
    key(field, 0);
    varint(static_cast<uint64_t>(v));  // negative int32s as 10-byte two's complement, as protobuf does
  }
  void bytes_field(uint32_t field, std::string_view b) {
    key(field, 2);
    varint(b.size());
    out_ += b;
  }
  void float_field(uint32_t field, float f) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &f, 4);
    out_.append(b, 4);
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string encode_sentencepiece_model(const Vocab& v) {
  ProtoWriter model;
  for (int32_t i = 0; i < v.size(); ++i) {
    ProtoWriter piece;
    piece.bytes_field(1, v.pieces[static_cast<size_t>(i)]);
    piece.float_field(2, v.scores[static_cast<size_t>(i)]);
    piece.int_field(3, static_cast<int64_t>(v.types[static_cast<size_t>(i)]));
    model.bytes_field(1, piece.str());
  }
  bool byte_fallback = false;
  for (TokenType t : v.types) byte_fallback = byte_fallback || t == TokenType::kByte;
  ProtoWriter trainer;
  trainer.int_field(3, 2);  // model_type: BPE
  trainer.int_field(4, v.size());
  trainer.int_field(35, byte_fallback ? 1 : 0);
  trainer.int_field(40, v.unk_id);
  trainer.int_field(41, v.bos_id);
  trainer.int_field(42, v.eos_id);
  trainer.int_field(43, -1);  // pad_id
  // libsentencepiece finds <unk>/BOS/EOS by these names, not by the ids above.
  auto name_field = [&](uint32_t field, int32_t id) {
    if (id >= 0 && id < v.size()) trainer.bytes_field(field, v.pieces[static_cast<size_t>(id)]);
  };
  name_field(45, v.unk_id);
  name_field(46, v.bos_id);
  name_field(47, v.eos_id);
  trainer.bytes_field(44, v.unk_surface);
  model.bytes_field(2, trainer.str());
  ProtoWriter normalizer;
  normalizer.bytes_field(1, "identity");
  normalizer.int_field(3, v.add_space_prefix ? 1 : 0);
  normalizer.int_field(4, v.remove_extra_whitespaces ? 1 : 0);
  normalizer.int_field(5, 1);  // escape_whitespaces
  model.bytes_field(3, normalizer.str());
  return model.str();
}

Status write_sentencepiece_model(const std::string& path, const Vocab& vocab) {
  return write_file_atomic(path, encode_sentencepiece_model(vocab));
}

}  // namespace limarp
