#include "tokenizer/default_vocab.h"

#include <fmt/format.h>

namespace limarp {

Vocab default_byte_vocab(int64_t size) {
  Vocab v;
  auto add = [&](std::string piece, float score, TokenType type) {
    if (static_cast<int64_t>(v.pieces.size()) >= size) return;
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, TokenType::kUnknown);
  add("<s>", 0, TokenType::kControl);
  add("</s>", 0, TokenType::kControl);
  for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, TokenType::kByte);
  float score = -1;
  for (char c = 32; c < 127; ++c) add(c == ' ' ? std::string(kSpaceMark) : std::string(1, c), score--, TokenType::kNormal);
  for (char c = 'a'; c <= 'z'; ++c) add(std::string(kSpaceMark) + c, score--, TokenType::kNormal);
  for (int64_t i = static_cast<int64_t>(v.pieces.size()); i < size; ++i)
    add(fmt::format("<extra_{}>", i), score--, TokenType::kUnused);
  return v;
}

}  // namespace limarp
