// parse_gbnf: a recursive-descent reader of the GBNF text into rules of alternatives, then the
// checks (every referenced rule defined, a root, no left recursion) and the flat form.
#include <algorithm>
#include <map>

#include "grammar/grammar.h"

namespace limarp {
namespace {

using Sequence = std::vector<GrammarElement>;
using Alternatives = std::vector<Sequence>;

class GbnfParser {
 public:
  explicit GbnfParser(std::string_view text) : text_(text) {}

  Result<std::shared_ptr<const Grammar>> parse() {
    if (text_.size() > kMaxGrammarBytes)
      return make_error("grammar: {} bytes; at most {} are accepted", text_.size(), kMaxGrammarBytes);
    skip_space();
    if (at_end()) return fail("the grammar is empty (expected rules such as root ::= \"yes\" | \"no\")");
    while (!at_end()) {
      LIMARP_TRY(parse_rule());
      skip_space();
    }
    for (const auto& [name, where] : first_use_)
      if (!defined_[rule_id(name)]) return fail_at(where, fmt::format("rule '{}' is used but never defined", name));
    const auto root = names_.find("root");
    if (root == names_.end() || !defined_[root->second]) return make_error("grammar: no 'root' rule (matching starts there)");
    LIMARP_TRY(check_left_recursion());
    return flatten(root->second);
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  std::pair<size_t, size_t> line_col(size_t at) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') ++line, col = 1;
      else if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++col;
    }
    return {line, col};
  }
  Error fail_at(size_t at, const std::string& message) const {
    const auto [line, col] = line_col(at);
    return Error(fmt::format("grammar: line {}, column {}: {}", line, col, message));
  }
  Error fail(const std::string& message) const { return fail_at(pos_, message); }

  // Spaces, tabs, newlines and comments.
  void skip_space() {
    while (!at_end()) {
      const char ch = peek();
      if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
        ++pos_;
      } else if (ch == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  static bool is_name_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
  }
  std::string_view read_name() {
    const size_t start = pos_;
    while (!at_end() && is_name_char(peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // Whether a new rule ("name ::=") starts here: a rule's alternatives may span lines, and this
  // is where they stop.
  bool rule_starts_here() const {
    size_t p = pos_;
    while (p < text_.size() && is_name_char(text_[p])) ++p;
    if (p == pos_) return false;
    while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t')) ++p;
    return text_.substr(p, 3) == "::=";
  }

  uint32_t rule_id(std::string_view name) {
    auto [it, added] = names_.emplace(std::string(name), static_cast<uint32_t>(rules_.size()));
    if (added) {
      rules_.emplace_back();
      rule_names_.emplace_back(name);
      defined_.push_back(false);
    }
    return it->second;
  }
  uint32_t new_rule(uint32_t parent) {
    // '/' cannot appear in a written name, so a generated rule never meets a user's.
    const std::string name = fmt::format("{}/{}", rule_names_[parent].substr(0, rule_names_[parent].find('/')), rules_.size());
    return rule_id(name);
  }

  Status parse_rule() {
    const size_t start = pos_;
    const std::string_view name = read_name();
    if (name.empty()) return fail("expected a rule name (letters, digits, '-' or '_')");
    while (peek() == ' ' || peek() == '\t') ++pos_;
    if (text_.substr(pos_, 3) != "::=") return fail(fmt::format("expected '::=' after the rule name '{}'", name));
    pos_ += 3;
    const uint32_t id = rule_id(name);
    if (defined_[id]) return fail_at(start, fmt::format("rule '{}' is defined twice", name));
    defined_[id] = true;
    LIMARP_ASSIGN_OR_RETURN(Alternatives alts, parse_alternatives(id, /*nested=*/false));
    rules_[id] = std::move(alts);
    return {};
  }

  Result<Alternatives> parse_alternatives(uint32_t rule, bool nested) {
    Alternatives alts;
    for (;;) {
      LIMARP_ASSIGN_OR_RETURN(Sequence seq, parse_sequence(rule, nested));
      alts.push_back(std::move(seq));
      skip_space();
      if (peek() != '|') break;
      ++pos_;
    }
    return alts;
  }

  Result<Sequence> parse_sequence(uint32_t rule, bool nested) {
    Sequence seq;
    for (;;) {
      skip_space();
      if (at_end() || peek() == '|' || (nested && peek() == ')') || (!nested && rule_starts_here())) break;
      if (++depth_ > 256) return fail("groups nested more than 256 deep");
      const size_t before = seq.size();
      LIMARP_TRY(parse_item(rule, seq));
      --depth_;
      LIMARP_TRY(parse_repetition(rule, seq, before));
      if (seq.size() > kMaxGrammarElements) return fail("the grammar expands to too many elements");
    }
    return seq;
  }

  // One item: a literal (several elements), a class, '.', a rule name, or a group.
  Status parse_item(uint32_t rule, Sequence& seq) {
    const char ch = peek();
    if (ch == '"') {
      ++pos_;
      if (peek() == '"') {
        ++pos_;
        return {};  // "" matches the empty string
      }
      while (peek() != '"') {
        if (at_end() || peek() == '\n') return fail("unterminated string literal");
        LIMARP_ASSIGN_OR_RETURN(uint32_t cp, read_char());
        seq.push_back(chars({{cp, cp}}, false));
      }
      ++pos_;
      return {};
    }
    if (ch == '[') {
      ++pos_;
      bool negated = false;
      if (peek() == '^') negated = true, ++pos_;
      std::vector<CharRange> ranges;
      while (peek() != ']') {
        if (at_end() || peek() == '\n') return fail("unterminated character class");
        const size_t range_start = pos_;
        LIMARP_ASSIGN_OR_RETURN(uint32_t lo, read_char());
        uint32_t hi = lo;
        if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
          ++pos_;
          LIMARP_ASSIGN_OR_RETURN(hi, read_char());
          if (hi < lo) return fail_at(range_start, fmt::format("character range U+{:04X}-U+{:04X} is backwards", lo, hi));
        }
        ranges.push_back({lo, hi});
      }
      ++pos_;
      seq.push_back(chars(ranges, negated));
      return {};
    }
    if (ch == '.') {
      ++pos_;
      seq.push_back(chars({{0, 0x10FFFF}}, false));
      return {};
    }
    if (ch == '(') {
      ++pos_;
      const uint32_t sub = new_rule(rule);
      defined_[sub] = true;
      LIMARP_ASSIGN_OR_RETURN(Alternatives alts, parse_alternatives(sub, /*nested=*/true));
      skip_space();
      if (peek() != ')') return fail("expected ')' to close the group");
      ++pos_;
      rules_[sub] = std::move(alts);
      seq.push_back(ref(sub));
      return {};
    }
    if (is_name_char(ch)) {
      const size_t at = pos_;
      const std::string_view name = read_name();
      const uint32_t id = rule_id(name);
      first_use_.emplace(std::string(name), at);
      seq.push_back(ref(id));
      return {};
    }
    if (ch == ')') return fail("unmatched ')'");
    if (ch == '*' || ch == '+' || ch == '?' || ch == '{') return fail(fmt::format("'{}' must follow something to repeat", ch));
    return fail(fmt::format("unexpected character '{}'", ch));
  }

  // A repetition after the item that produced seq[first:]: the item becomes a rule when it
  // spans several elements (a literal), then the operator becomes generated rules.
  Status parse_repetition(uint32_t rule, Sequence& seq, size_t first) {
    const char op = peek();
    if (op != '*' && op != '+' && op != '?' && op != '{') return {};
    const size_t at = pos_;
    ++pos_;
    if (seq.size() == first) return fail_at(at, "nothing to repeat (an empty literal)");
    GrammarElement item = seq[first];
    if (seq.size() - first > 1) {
      const uint32_t sub = new_rule(rule);
      defined_[sub] = true;
      rules_[sub] = {Sequence(seq.begin() + static_cast<std::ptrdiff_t>(first), seq.end())};
      item = ref(sub);
    }
    seq.resize(first);
    uint32_t min = 0, max = 0;
    bool unbounded = false;
    if (op == '*') unbounded = true;
    else if (op == '+') min = 1, unbounded = true;
    else if (op == '?') max = 1;
    else {
      LIMARP_ASSIGN_OR_RETURN(min, read_count());
      skip_space();
      max = min;
      if (peek() == ',') {
        ++pos_;
        skip_space();
        if (peek() == '}') unbounded = true;
        else {
          LIMARP_ASSIGN_OR_RETURN(max, read_count());
          skip_space();
        }
      }
      if (peek() != '}') return fail("expected '}' to close the repetition count");
      ++pos_;
      if (!unbounded && max < min) return fail_at(at, fmt::format("repetition {{{},{}}}: the maximum is below the minimum", min, max));
    }
    for (uint32_t i = 0; i < min; ++i) seq.push_back(item);
    if (unbounded) {
      // S ::= item S | empty: right recursion, which the matcher runs in constant stack depth.
      const uint32_t star = new_rule(rule);
      defined_[star] = true;
      rules_[star] = {{item, ref(star)}, {}};
      seq.push_back(ref(star));
    } else if (max > min) {
      // opt_k ::= item opt_(k-1) | empty, so at most max - min more.
      uint32_t inner = 0;
      for (uint32_t k = 1; k <= max - min; ++k) {
        const uint32_t opt = new_rule(rule);
        defined_[opt] = true;
        rules_[opt] = k == 1 ? Alternatives{{item}, {}} : Alternatives{{item, ref(inner)}, {}};
        inner = opt;
      }
      seq.push_back(ref(inner));
    }
    return {};
  }

  Result<uint32_t> read_count() {
    skip_space();
    if (!(peek() >= '0' && peek() <= '9')) return fail("expected a repetition count");
    uint64_t n = 0;
    while (peek() >= '0' && peek() <= '9') {
      n = n * 10 + static_cast<uint64_t>(peek() - '0');
      if (n > kMaxGrammarRepeat) return fail(fmt::format("repetition counts are at most {}", kMaxGrammarRepeat));
      ++pos_;
    }
    return static_cast<uint32_t>(n);
  }

  // One character of a literal or class: an escape or a UTF-8 sequence, as a code point.
  Result<uint32_t> read_char() {
    const auto byte = static_cast<unsigned char>(peek());
    if (byte == '\\') {
      ++pos_;
      const char e = peek();
      ++pos_;
      switch (e) {
        case 'n': return uint32_t{'\n'};
        case 'r': return uint32_t{'\r'};
        case 't': return uint32_t{'\t'};
        case '\\': case '"': case '[': case ']': case '-': case '^': case '\'': return static_cast<uint32_t>(e);
        case 'x': return read_hex(2);
        case 'u': return read_hex(4);
        case 'U': return read_hex(8);
        default: return fail_at(pos_ - 2, fmt::format("unknown escape '\\{}'", e));
      }
    }
    const size_t len = byte < 0x80 ? 1 : (byte & 0xE0) == 0xC0 ? 2 : (byte & 0xF0) == 0xE0 ? 3 : (byte & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || pos_ + len > text_.size()) return fail("invalid UTF-8");
    uint32_t cp = len == 1 ? byte : byte & (0x7F >> len);
    for (size_t i = 1; i < len; ++i) {
      const auto cont = static_cast<unsigned char>(text_[pos_ + i]);
      if ((cont & 0xC0) != 0x80) return fail("invalid UTF-8");
      cp = (cp << 6) | (cont & 0x3F);
    }
    pos_ += len;
    return cp;
  }
  Result<uint32_t> read_hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const char h = peek();
      const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) return fail(fmt::format("expected {} hex digits", digits));
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    if (v > 0x10FFFF) return fail(fmt::format("U+{:X} is past the last code point", v));
    return v;
  }

  GrammarElement chars(std::vector<CharRange> r, bool negated) {
    GrammarElement e{ElementKind::kChars, negated, static_cast<uint32_t>(ranges_.size()), 0};
    ranges_.insert(ranges_.end(), r.begin(), r.end());
    e.b = static_cast<uint32_t>(ranges_.size());
    return e;
  }
  static GrammarElement ref(uint32_t id) { return {ElementKind::kRule, false, id, 0}; }

  Status check_left_recursion() {
    // nullable: the rule can match the empty string.
    std::vector<bool> nullable(rules_.size(), false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < rules_.size(); ++r) {
        if (nullable[r]) continue;
        for (const Sequence& seq : rules_[r])
          if (std::all_of(seq.begin(), seq.end(), [&](const GrammarElement& e) { return e.kind == ElementKind::kRule && nullable[e.a]; })) {
            nullable[r] = changed = true;
            break;
          }
      }
    }
    // Rules each rule may expand first without consuming a character; a cycle is left recursion.
    std::vector<std::vector<uint32_t>> first(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r)
      for (const Sequence& seq : rules_[r])
        for (const GrammarElement& e : seq) {
          if (e.kind != ElementKind::kRule) break;
          first[r].push_back(e.a);
          if (!nullable[e.a]) break;
        }
    std::vector<uint8_t> mark(rules_.size(), 0);  // 0 new, 1 on the path, 2 done
    for (uint32_t r = 0; r < rules_.size(); ++r) {
      if (mark[r]) continue;
      // Iterative depth-first search: a hostile grammar may chain thousands of rules.
      std::vector<std::pair<uint32_t, size_t>> path{{r, 0}};
      mark[r] = 1;
      while (!path.empty()) {
        auto& [node, next] = path.back();
        if (next < first[node].size()) {
          const uint32_t to = first[node][next++];
          if (mark[to] == 1)
            return make_error("grammar: rule '{}' is left-recursive (it can reach itself before any character)",
                              user_name(to));
          if (mark[to] == 0) {
            mark[to] = 1;
            path.push_back({to, 0});
          }
        } else {
          mark[node] = 2;
          path.pop_back();
        }
      }
    }
    return {};
  }
  // A generated rule is reported as the rule the user wrote.
  std::string user_name(uint32_t id) const {
    const std::string& n = rule_names_[id];
    return n.substr(0, n.find('/'));
  }

  std::shared_ptr<const Grammar> flatten(uint32_t root) {
    auto g = std::make_shared<Grammar>();
    g->ranges = std::move(ranges_);
    g->rule_names = std::move(rule_names_);
    g->root = root;
    g->alternatives.resize(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r)
      for (const Sequence& seq : rules_[r]) {
        g->alternatives[r].push_back(static_cast<uint32_t>(g->elements.size()));
        g->elements.insert(g->elements.end(), seq.begin(), seq.end());
        g->elements.push_back({});
      }
    return g;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::map<std::string, uint32_t, std::less<>> names_;
  std::map<std::string, size_t, std::less<>> first_use_;
  std::vector<Alternatives> rules_;
  std::vector<std::string> rule_names_;
  std::vector<bool> defined_;
  std::vector<CharRange> ranges_;
};

}  // namespace

Result<std::shared_ptr<const Grammar>> parse_gbnf(std::string_view text) { return GbnfParser(text).parse(); }

}  // namespace limarp
