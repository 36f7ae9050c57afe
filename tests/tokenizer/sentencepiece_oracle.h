// libsentencepiece as the oracle: the reference our tokenizer must equal id for id and byte
// for byte. Only tests and benchmarks link it; src/ never does.
#pragma once

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer_corpus.h"

namespace limarp::testing {

class SentencePieceOracle {
 public:
  // From a tokenizer.model file, or from serialized ModelProto bytes.
  static std::unique_ptr<SentencePieceOracle> from_file(const std::string& path) {
    auto o = std::make_unique<SentencePieceOracle>();
    const auto status = o->sp_.Load(path);
    if (!status.ok()) {
      ADD_FAILURE() << "libsentencepiece cannot load " << path << ": " << status.ToString();
      return nullptr;
    }
    return o;
  }
  static std::unique_ptr<SentencePieceOracle> from_bytes(const std::string& serialized) {
    auto o = std::make_unique<SentencePieceOracle>();
    const auto status = o->sp_.LoadFromSerializedProto(serialized);
    if (!status.ok()) {
      ADD_FAILURE() << "libsentencepiece refuses the model: " << status.ToString();
      return nullptr;
    }
    return o;
  }

  std::vector<int32_t> encode(std::string_view text) const {
    std::vector<int> ids;
    const auto status = sp_.Encode(text, &ids);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return {ids.begin(), ids.end()};
  }
  std::string decode(std::span<const int32_t> ids) const {
    std::string out;
    const auto status = sp_.Decode(std::vector<int>(ids.begin(), ids.end()), &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
  }
  const sentencepiece::SentencePieceProcessor& processor() const { return sp_; }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

// Shows bytes readably in failure messages: printable ASCII as is, the rest as \xNN.
inline std::string escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

inline std::string ids_text(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s += ' ';
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

// Encodes every corpus string with both (no BOS: SentencePiece adds none) and reports the
// first few disagreements. Returns the number of strings compared.
inline size_t expect_same_encoding(const Tokenizer& tok, const SentencePieceOracle& sp,
                                   const std::vector<CorpusString>& corpus, const std::string& what) {
  size_t mismatches = 0;
  for (const CorpusString& c : corpus) {
    const std::vector<int32_t> ours = tok.encode(c.text, {.add_bos = false});
    const std::vector<int32_t> want = sp.encode(c.text);
    if (ours == want) continue;
    if (++mismatches <= 5)
      ADD_FAILURE() << what << ": \"" << escaped(c.text) << "\"\n  ours: " << ids_text(ours)
                    << "\n  libsentencepiece: " << ids_text(want);
  }
  EXPECT_EQ(mismatches, 0u) << what << ": " << mismatches << " of " << corpus.size() << " strings differ";
  return corpus.size();
}

}  // namespace limarp::testing
