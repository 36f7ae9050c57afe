// The GBNF parser and matcher on hand-written grammars and inputs, the vocabulary trie against
// a brute-force check of every token, JSON Schema conversion, and hostile grammar texts.
#include <random>

#include <gtest/gtest.h>

#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/token_trie.h"

namespace limarp {
namespace {

std::shared_ptr<const Grammar> must_parse(std::string_view text) {
  auto g = parse_gbnf(text);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message());
  return g.ok() ? *g : nullptr;
}

// Whether `input` is a whole match.
bool full(const Grammar& g, std::string_view input) { return GrammarState::start(g).advance_bytes(g, input).complete(); }
bool prefix(const Grammar& g, std::string_view input) { return GrammarState::start(g).advance_bytes(g, input).alive(); }

TEST(Gbnf, LiteralsAlternativesAndClasses) {
  auto g = must_parse(R"(root ::= "yes" | "no" | [0-9]+ ("." [0-9]{1,2})?  # a comment
)");
  ASSERT_TRUE(g);
  for (const char* ok : {"yes", "no", "7", "42.5", "0.25"}) EXPECT_TRUE(full(*g, ok)) << ok;
  for (const char* bad : {"ye", "yess", "", "4.", "4.123", "x"}) EXPECT_FALSE(full(*g, bad)) << bad;
  EXPECT_TRUE(prefix(*g, "4."));
  EXPECT_FALSE(prefix(*g, "4.123"));
}

TEST(Gbnf, RulesRepetitionAndNegation) {
  auto g = must_parse(R"(
root ::= greeting ", " name "!"
greeting ::= "Hello" | "Hi"
name ::= [A-Z] [^ !,]{2,5}
)");
  ASSERT_TRUE(g);
  EXPECT_TRUE(full(*g, "Hello, Aqua!"));
  EXPECT_TRUE(full(*g, "Hi, Kazuma!"));
  EXPECT_FALSE(full(*g, "Hi, Al!"));         // too short
  EXPECT_FALSE(full(*g, "Hi, Megumin!"));    // 6 after the capital
  EXPECT_FALSE(full(*g, "Hi, aqua!"));
}

TEST(Gbnf, Utf8LiteralsAndPartialCharacters) {
  auto g = must_parse(R"(root ::= "café " [α-ω]+ "\u00e9")");
  ASSERT_TRUE(g);
  EXPECT_TRUE(full(*g, "café αβγé"));
  EXPECT_FALSE(full(*g, "cafe αβγé"));
  // "é" is C3 A9: after C3 alone the match is alive but not complete.
  GrammarState s = GrammarState::start(*g).advance_bytes(*g, "caf\xC3");
  EXPECT_TRUE(s.alive());
  EXPECT_FALSE(s.complete());
  // A lead byte whose characters the class cannot hold dies at once.
  EXPECT_FALSE(GrammarState::start(*g).advance_bytes(*g, "café \xE4").alive());
  EXPECT_FALSE(GrammarState::start(*g).advance_bytes(*g, "caf\xC3\xC3").alive());
  // Overlong leads: F0 80 could only start an overlong form of a small character.
  auto ascii = must_parse(R"(root ::= "r")");
  ASSERT_TRUE(ascii);
  for (const char* lead : {"\xF0", "\xE0\x80", "\xC0", "\xC1", "\x80", "\xF5"})
    EXPECT_FALSE(GrammarState::start(*ascii).advance_bytes(*ascii, lead).alive()) << int(static_cast<uint8_t>(lead[0]));
}

TEST(Gbnf, FinishedMeansNothingMayFollow) {
  auto g = must_parse(R"(root ::= "a" "b"?)");
  ASSERT_TRUE(g);
  GrammarState a = GrammarState::start(*g).advance_bytes(*g, "a");
  EXPECT_TRUE(a.complete());
  EXPECT_FALSE(a.finished());
  EXPECT_TRUE(a.advance_bytes(*g, "b").finished());
}

TEST(Gbnf, RecursionWithoutLeftRecursion) {
  auto g = must_parse(R"g(root ::= "(" root ")" | "")g");
  ASSERT_TRUE(g);
  EXPECT_TRUE(full(*g, "((()))"));
  EXPECT_FALSE(full(*g, "(()"));
  auto left = parse_gbnf("root ::= root \"a\" | \"a\"");
  ASSERT_FALSE(left.ok());
  EXPECT_NE(left.error().message().find("left-recursive"), std::string::npos);
  auto hidden = parse_gbnf("root ::= x\nx ::= y? root \"a\"\ny ::= \"b\"");
  EXPECT_FALSE(hidden.ok());
}

TEST(Gbnf, ErrorsNameLineAndColumn) {
  const struct {
    const char* text;
    const char* want;
  } cases[] = {
      {"root ::= \"a\"\nfoo ::= bar", "line 2, column 9: rule 'bar' is used but never defined"},
      {"root ::= \"abc", "line 1, column 14: unterminated string literal"},
      {"root ::= [a-", "unterminated character class"},
      {"root ::= (\"a\"", "line 1, column 14: expected ')'"},
      {"root ::= \"a\"{3,2}", "maximum is below the minimum"},
      {"root ::= \"a\"{5000}", "repetition counts are at most 1000"},
      {"root = \"a\"", "line 1, column 6: expected '::='"},
      {"root ::= *", "must follow something to repeat"},
      {"x ::= \"a\"", "no 'root' rule"},
      {"root ::= \"\\q\"", "unknown escape"},
      {"root ::= \"a\"\nroot ::= \"b\"", "line 2, column 1: rule 'root' is defined twice"},
      {"", "the grammar is empty"},
  };
  for (const auto& c : cases) {
    auto g = parse_gbnf(c.text);
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_NE(g.error().message().find(c.want), std::string::npos) << g.error().message();
  }
}

TEST(TokenTrie, MarksExactlyTheTokensABruteForceCheckAccepts) {
  // Tokens that span several elements ("e, " crosses the literal and the class), begin or end
  // mid-character, or are single bytes of a character.
  const std::vector<std::string> texts = {"", "Hel", "lo", "Hello", ", ", "o, A", "qua", "Aqua!", "!", "é", "\xC3",
                                          "\xA9" "e", "x", "Hello, Aqua", "lo, Kaz", "uma!", "H", "e", "l", "K",
                                          "azuma", "Ren", "ée", "e!"};
  auto g = must_parse(R"(root ::= "Hello, " ("Aqua" | "Kazuma" | "Ren\u00e9e") "!")");
  ASSERT_TRUE(g);
  TokenTrie trie(texts);
  std::mt19937 rng(5);
  GrammarState state = GrammarState::start(*g);
  for (int step = 0; step < 20 && state.alive() && !state.finished(); ++step) {
    std::vector<uint8_t> allowed(texts.size(), 0);
    trie.mark_allowed(*g, state, allowed);
    std::vector<size_t> ok;
    for (size_t id = 0; id < texts.size(); ++id) {
      const bool brute = !texts[id].empty() && state.advance_bytes(*g, texts[id]).alive();
      EXPECT_EQ(allowed[id] != 0, brute) << "step " << step << " token " << id;
      if (brute) ok.push_back(id);
    }
    ASSERT_FALSE(ok.empty());
    state = state.advance_bytes(*g, texts[ok[rng() % ok.size()]]);
  }
  EXPECT_TRUE(state.finished());
}

TEST(JsonSchema, ConvertsTheCommonSubset) {
  const Json schema = Json::parse(R"({
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer"},
                   "mood": {"enum": ["happy", "sad"]}, "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"},
                   "minItems": 1, "maxItems": 2}, "note": {"type": ["string", "null"]}},
    "required": ["name", "mood"],
    "$defs": {"tag": {"type": "string"}}})");
  auto gbnf = json_schema_to_gbnf(schema);
  ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
  auto g = must_parse(*gbnf);
  ASSERT_TRUE(g);
  EXPECT_TRUE(full(*g, R"({"mood": "sad", "name": "Aqua"})"));
  EXPECT_TRUE(full(*g, R"({"age": 3, "mood": "happy", "name": "", "note": null, "tags": ["a", "b"]})"));
  EXPECT_FALSE(full(*g, R"({"name": "Aqua"})"));                                  // mood required
  EXPECT_FALSE(full(*g, R"({"mood": "angry", "name": "Aqua"})"));                 // not in the enum
  EXPECT_FALSE(full(*g, R"({"mood": "sad", "name": "Aquamarine"})"));             // maxLength 8
  EXPECT_FALSE(full(*g, R"({"mood": "sad", "name": "A", "tags": []})"));          // minItems 1
  EXPECT_FALSE(full(*g, R"({"age": 1.5, "mood": "sad", "name": "A"})"));          // integer
  for (const char* refused : {R"({"type": "string", "pattern": "a+"})", R"({"allOf": [{}]})",
                              R"({"$ref": "http://x/y"})", R"({"type": "integer", "minimum": 3})"}) {
    auto r = json_schema_to_gbnf(Json::parse(refused));
    EXPECT_FALSE(r.ok()) << refused;
  }
  auto any = must_parse(json_object_gbnf());
  ASSERT_TRUE(any);
  EXPECT_TRUE(full(*any, R"({"a": [1, 2.5e3, true, null, {"b": "\u00e9\n"}]})"));
  EXPECT_FALSE(full(*any, R"([1])"));
}

// Hostile grammar texts: random bytes and mutations of valid grammars must parse or fail with
// a message, never crash or hang; whatever parses must run through the matcher.
TEST(GbnfFuzz, RandomAndMutatedGrammarsNeverCrash) {
  const std::string seeds[] = {
      R"(root ::= "a" | [b-d]+ ("x" root)? )", R"(root ::= item{2,4} item ::= [^"\\] | "\\" ["nt])",
      json_object_gbnf(), "root ::= (\"é\" | [α-ω]){0,3} # c\n",
  };
  std::mt19937 rng(23);
  const std::string alphabet = "root::=\"|()[]^-*+?{},.#\\ \n\tabxé0129";
  for (int i = 0; i < 3000; ++i) {
    std::string text = seeds[static_cast<size_t>(i) % std::size(seeds)];
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0: text.erase(at, 1 + rng() % 3); break;
        case 1: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: text[at] = static_cast<char>(rng() % 256); break;
        default: text.insert(at, text.substr(rng() % text.size(), rng() % 8)); break;
      }
    }
    auto g = parse_gbnf(text);
    if (!g.ok()) {
      EXPECT_FALSE(g.error().message().empty());
      continue;
    }
    GrammarState s = GrammarState::start(**g);
    for (int k = 0; k < 16 && s.alive(); ++k) s = s.advance_byte(**g, static_cast<uint8_t>(alphabet[rng() % alphabet.size()]));
  }
}

}  // namespace
}  // namespace limarp
