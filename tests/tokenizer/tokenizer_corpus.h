// A generated corpus of awkward strings for comparing our tokenizer with libsentencepiece:
// many scripts, emoji with joiners and modifiers, whitespace runs, tabs and newlines,
// control-token look-alikes, the LimaRP prompt format, long words, random vocabulary
// pieces glued together, random code points and (in some strings) invalid UTF-8.
// Deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"

namespace limarp::testing {

struct CorpusString {
  std::string text;
  bool valid_utf8 = true;  // false when invalid bytes were put in on purpose
  // decode(encode(text)) == text is expected: valid UTF-8 without a literal "▁" (which
  // decodes as a space, by SentencePiece's design).
  bool round_trips() const { return valid_utf8 && text.find("\xE2\x96\x81") == std::string::npos; }
};

namespace corpus_detail {

inline std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

inline const std::vector<std::string>& words() {
  static const std::vector<std::string> w = {
      "the", "The", "a", "and", "of", "to", "in", "is", "was", "Hello", "world", "World", "once", "upon", "time",
      "little", "girl", "named", "Lily", "she", "said", "smiled", "happy", "tokenizer", "SentencePiece", "llama",
      "LimaRP", "roleplay", "character", "don't", "I'm", "y'all", "we've", "it's", "O'Brien", "e-mail", "3.14159",
      "1,000,000", "2024-01-31", "12:30", "#hashtag", "@user", "https://example.com/path?q=1&r=2", "C++", "x86_64",
      "naïve", "café", "Zürich", "Straße", "résumé", "piñata", "fiancée", "coöperate", "ﬁ", "Ⅻ", "①", "ｆｕｌｌ"};
  return w;
}

inline const std::vector<std::string>& scripts() {
  static const std::vector<std::string> s = {
      "Привет, мир! Как дела?", "Καλημέρα κόσμε", "你好，世界。今天天气很好。", "日本語のテキストです。カタカナ",
      "안녕하세요 세계", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "ស្វាគមន៍",
      "გამარჯობა", "Բարեւ աշխարհ", "வணக்கம்", "ሰላም ልዑል", "Tiếng Việt có dấu", "Ελληνικά", "Українська мова",
      "ཀུན་ལ་བཀྲ་ཤིས།", "ᐊᐃᓐᓇᐅᕗᖅ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙", "𐍈𐌰𐌹𐍂𐌰", "e\u0301e\u0301", "Z\u0335\u0347a\u0337\u0322l\u035Cg\u0338o",
      "ﷺ ﷽", "ㄱㄴㄷ", "각", "ⓐⓑⓒ", "½ ¾ ⅞", "™ © ®", "…—–", "“quotes” ‘single’ «guillemets»", "¿Qué? ¡Sí!"};
  return s;
}

inline const std::vector<std::string>& emoji() {
  static const std::vector<std::string> e = {
      "😀", "😂", "🦙", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏿‍💻", "👩‍❤️‍💋‍👨", "🇺🇸🇯🇵", "1️⃣", "❤️", "✅", "🤷‍♀️", "🐈‍⬛", "🫠", "👁‍🗨", "⚡", "☕️"};
  return e;
}

inline const std::vector<std::string>& look_alikes() {
  static const std::vector<std::string> l = {
      "<s>", "</s>", "<unk>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "<|im_start|>", "<|im_end|>", "<0x0A>",
      "<0xFF>", "<pad>", "<s> [INST]", "</s><s>", "<s>[INST] hi [/INST]", "< s >", "<<s>>", "</s", "<s", "s>",
      "<|endoftext|>", "<mask>", "▁", "▁▁", "▁<s>"};
  return l;
}

inline std::string limarp_prompt(Rng& rng) {
  static const char* lengths[] = {"micro", "tiny", "short", "medium", "long", "massive", "huge", "enormous",
                                  "humongous", "unlimited"};
  std::string s = "### Instruction:\nCharacter's Persona: a cheerful innkeeper who loves stories.\n\n"
                  "User's Persona: a tired traveler.\n\nScenario: A rainy night at the inn.\n\n"
                  "Play the role of Character. Taking the above information into consideration, you must engage "
                  "in a roleplaying chat with User below this line. Do not write dialogues and narration for User.\n\n"
                  "### Input:\nUser: *shakes off the rain* \"Any rooms left?\"\n\n";
  s += "### Response: (length = ";
  s += lengths[rng.next_u64() % 10];
  s += ")\nCharacter:";
  if (rng.next_u64() % 2) s += " \"Of course!\" *smiles warmly*";
  return s;
}

inline std::string long_word(Rng& rng) {
  const size_t n = 20 + rng.next_u64() % 300;
  std::string s;
  const uint64_t kind = rng.next_u64() % 5;
  for (size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0: s += static_cast<char>('a' + rng.next_u64() % 26); break;
      case 1: s += static_cast<char>((rng.next_u64() % 2 ? 'A' : 'a') + rng.next_u64() % 26); break;
      case 2: s += static_cast<char>('0' + rng.next_u64() % 10); break;
      case 3: s += "ab"[rng.next_u64() % 2]; break;
      default: s += "!.-=_*#~"[rng.next_u64() % 8]; break;
    }
  }
  return s;
}

inline std::string whitespace_run(Rng& rng) {
  static const char* parts[] = {" ", " ", " ", "\t", "\n", "\r\n", "\r", "\v", "\f", "\xC2\xA0", "\xE3\x80\x80",
                                "\xE2\x80\x8B", "\xE2\x80\x83"};
  std::string s;
  const size_t n = 1 + rng.next_u64() % 40;
  const bool spaces_only = rng.next_u64() % 2;
  for (size_t i = 0; i < n; ++i) s += spaces_only ? " " : parts[rng.next_u64() % 13];
  return s;
}

inline uint32_t random_code_point(Rng& rng) {
  switch (rng.next_u64() % 6) {
    case 0: return 0x20 + static_cast<uint32_t>(rng.next_u64() % 0x5F);
    case 1: return static_cast<uint32_t>(rng.next_u64() % 0x80);  // includes control characters and NUL
    case 2: return 0x80 + static_cast<uint32_t>(rng.next_u64() % 0x780);
    case 3: {
      uint32_t c = 0x800 + static_cast<uint32_t>(rng.next_u64() % 0xF800);
      return (c >= 0xD800 && c < 0xE000) ? 0xFFFD : c;
    }
    case 4: return 0x4E00 + static_cast<uint32_t>(rng.next_u64() % 0x5200);
    default: return 0x10000 + static_cast<uint32_t>(rng.next_u64() % 0x100000);
  }
}

inline std::string invalid_bytes(Rng& rng) {
  static const char* bad[] = {"\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xED\xBF\xBF",
                              "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF8\x88\x80\x80\x80", "\xFE", "\xFF", "\xE2\x96",
                              "\xF0\x9F\x98", "\xC3", "\xE2\x28\xA1", "\xF0\x28\x8C\xBC"};
  std::string s;
  const size_t n = 1 + rng.next_u64() % 4;
  for (size_t i = 0; i < n; ++i) {
    if (rng.next_u64() % 3 == 0) s += static_cast<char>(0x80 + rng.next_u64() % 0x80);
    else s += bad[rng.next_u64() % 17];
  }
  return s;
}

}  // namespace corpus_detail

// `count` strings; `pieces` (the vocabulary, "▁" as written) feeds the piece-salad strings.
inline std::vector<CorpusString> generate_corpus(size_t count, uint64_t seed, const std::vector<std::string>& pieces) {
  using namespace corpus_detail;
  Rng rng(seed);
  auto pick = [&](const std::vector<std::string>& v) -> const std::string& { return v[rng.next_u64() % v.size()]; };
  auto piece_text = [&]() {
    std::string p = pieces.empty() ? std::string("x") : pieces[rng.next_u64() % pieces.size()];
    std::string out;
    for (size_t i = 0; i < p.size();) {
      if (p.compare(i, 3, "\xE2\x96\x81") == 0) {
        out += ' ';
        i += 3;
      } else {
        out += p[i++];
      }
    }
    return out;
  };
  static const char* separators[] = {" ", " ", " ", "", "  ", "\t", "\n", "\n\n", "\r\n", "   ", " \n ", ", ", ". "};
  std::vector<CorpusString> out;
  out.reserve(count);
  for (size_t k = 0; k < count; ++k) {
    CorpusString c;
    const size_t fragments = 1 + rng.next_u64() % 10;
    if (rng.next_u64() % 10 == 0) c.text += whitespace_run(rng);  // leading whitespace
    for (size_t f = 0; f < fragments; ++f) {
      if (f > 0) c.text += separators[rng.next_u64() % 13];
      switch (rng.next_u64() % 16) {
        case 0: case 1: case 2: c.text += pick(words()); break;
        case 3: case 4: c.text += pick(scripts()); break;
        case 5: c.text += pick(emoji()); break;
        case 6: c.text += whitespace_run(rng); break;
        case 7: c.text += pick(look_alikes()); break;
        case 8: if (rng.next_u64() % 4 == 0) c.text += limarp_prompt(rng); else c.text += pick(words()); break;
        case 9: c.text += long_word(rng); break;
        case 10: case 11: {
          const size_t n = 1 + rng.next_u64() % 8;
          for (size_t i = 0; i < n; ++i) c.text += piece_text();
          break;
        }
        case 12: {
          const size_t n = 1 + rng.next_u64() % 12;
          for (size_t i = 0; i < n; ++i) c.text += utf8(random_code_point(rng));
          break;
        }
        case 13:
          if (rng.next_u64() % 3 == 0) {
            c.text += invalid_bytes(rng);
            c.valid_utf8 = false;
          } else {
            c.text += pick(emoji());
          }
          break;
        case 14: c.text += "for (int i = 0; i < n; ++i) { sum += x[i]; }  // loop"; break;
        default: c.text += "{\"key\": [1, 2.5, null], \"name\": \"Lily\"}"; break;
      }
    }
    if (rng.next_u64() % 10 == 0) c.text += whitespace_run(rng);  // trailing whitespace
    out.push_back(std::move(c));
  }
  // A few fixed strings every run checks.
  for (const char* s : {"", " ", "  ", "\n", " \n", "\t\t", "a", "▁", "\xEF\xBF\xBD", "Hello world", " Hello world"})
    out.push_back({s, true});
  return out;
}

}  // namespace limarp::testing
