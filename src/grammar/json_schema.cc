#include "grammar/json_schema.h"

#include <array>
#include <map>
#include <set>
#include <vector>

namespace limarp {
namespace {

// The shared rules every schema grammar ends with.
constexpr const char* kJsonPrimitives = R"(ws ::= | " " | "\n" [ \t]{0,16}
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
number ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?
integer ::= "-"? ("0" | [1-9] [0-9]{0,15})
boolean ::= "true" | "false"
null ::= "null"
value ::= object | array | string | number | boolean | null
object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
)";

// A JSON value as a GBNF literal.
std::string literal(const Json& v) {
  const std::string text = v.dump();
  std::string out = "\"";
  for (const char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

class SchemaConverter {
 public:
  explicit SchemaConverter(const Json& root) : root_(root) {}

  Result<std::string> convert() {
    LIMARP_ASSIGN_OR_RETURN(std::string body, visit(root_, "#", 0));
    std::string out = fmt::format("root ::= {}\n", body);
    for (const auto& [name, rule] : rules_) out += fmt::format("{} ::= {}\n", name, rule);
    return out + kJsonPrimitives;
  }

 private:
  std::string add_rule(const std::string& body) {
    const std::string name = fmt::format("s{}", rules_.size());
    rules_[name] = body;
    return name;
  }

  Result<std::string> visit(const Json& s, const std::string& where, int depth) {
    if (depth > 64) return make_error("json_schema: nested more than 64 deep at {}", where);
    if (s.is_boolean()) {
      if (!s.get<bool>()) return make_error("json_schema: 'false' at {} matches nothing", where);
      return std::string("value");
    }
    if (!s.is_object()) return make_error("json_schema: expected an object at {}, got {}", where, json_brief(s));
    for (const char* key : {"pattern", "format", "allOf", "not", "if", "then", "else", "patternProperties", "prefixItems",
                            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems",
                            "minProperties", "maxProperties", "contains", "dependentRequired", "dependentSchemas"})
      if (s.contains(key)) return make_error("json_schema: '{}' at {} is not supported", key, where);
    if (const auto it = s.find("$ref"); it != s.end()) return ref(*it, where);
    if (const auto it = s.find("const"); it != s.end()) return literal(*it);
    if (const auto it = s.find("enum"); it != s.end()) {
      if (!it->is_array() || it->empty()) return make_error("json_schema: enum at {} must be a non-empty array", where);
      std::string alts;
      for (const Json& v : *it) alts += (alts.empty() ? "" : " | ") + literal(v);
      return "(" + alts + ")";
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      const auto it = s.find(key);
      if (it == s.end()) continue;
      if (!it->is_array() || it->empty()) return make_error("json_schema: {} at {} must be a non-empty array", key, where);
      std::string alts;
      for (size_t i = 0; i < it->size(); ++i) {
        LIMARP_ASSIGN_OR_RETURN(std::string a, visit((*it)[i], fmt::format("{}/{}/{}", where, key, i), depth + 1));
        alts += (alts.empty() ? "" : " | ") + a;
      }
      return "(" + alts + ")";
    }
    const auto type = s.find("type");
    if (type == s.end()) {
      if (s.contains("properties")) return object(s, where, depth);
      if (s.contains("items")) return array(s, where, depth);
      return std::string("value");
    }
    if (type->is_array()) {
      std::string alts;
      for (const Json& t : *type) {
        Json one = s;
        one["type"] = t;
        LIMARP_ASSIGN_OR_RETURN(std::string a, visit(one, where, depth + 1));
        alts += (alts.empty() ? "" : " | ") + a;
      }
      if (alts.empty()) return make_error("json_schema: empty type list at {}", where);
      return "(" + alts + ")";
    }
    if (!type->is_string()) return make_error("json_schema: type at {} must be a string or a list, got {}", where, json_brief(*type));
    const std::string t = type->get<std::string>();
    if (t == "object") return object(s, where, depth);
    if (t == "array") return array(s, where, depth);
    if (t == "string") return string(s, where);
    if (t == "number" || t == "integer" || t == "boolean" || t == "null") return t;
    return make_error("json_schema: unknown type \"{}\" at {}", t, where);
  }

  Result<std::string> ref(const Json& r, const std::string& where) {
    if (!r.is_string()) return make_error("json_schema: $ref at {} must be a string", where);
    const std::string target = r.get<std::string>();
    for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
      const std::string p = prefix;
      if (target.compare(0, p.size(), p) != 0) continue;
      const std::string name = target.substr(p.size());
      const Json* defs = nullptr;
      if (const auto it = root_.find(p.substr(2, p.size() - 3)); it != root_.end()) defs = &*it;
      if (!defs || !defs->is_object() || !defs->contains(name))
        return make_error("json_schema: $ref \"{}\" at {} names no definition", target, where);
      if (const auto done = refs_.find(target); done != refs_.end()) return done->second;
      // Named before it is converted, so a recursive definition refers to itself.
      const std::string rule = fmt::format("ref{}", refs_.size());
      refs_[target] = rule;
      LIMARP_ASSIGN_OR_RETURN(std::string body, visit((*defs)[name], target, 1));
      rules_[rule] = body;
      return rule;
    }
    return make_error("json_schema: $ref \"{}\" at {}: only #/$defs/NAME and #/definitions/NAME are supported", target, where);
  }

  Result<std::string> object(const Json& s, const std::string& where, int depth) {
    const auto props = s.find("properties");
    if (props == s.end()) return std::string("object");
    if (!props->is_object()) return make_error("json_schema: properties at {} must be an object", where);
    std::set<std::string> required;
    if (const auto it = s.find("required"); it != s.end()) {
      if (!it->is_array()) return make_error("json_schema: required at {} must be an array", where);
      for (const Json& r : *it)
        if (r.is_string()) required.insert(r.get<std::string>());
    }
    struct Prop {
      std::string kv;
      bool required;
    };
    std::vector<Prop> list;
    for (const auto& [name, sub] : props->items()) {
      LIMARP_ASSIGN_OR_RETURN(std::string v, visit(sub, where + "/properties/" + name, depth + 1));
      list.push_back({literal(Json(name)) + " ws \":\" ws " + v + " ws", required.count(name) > 0});
    }
    for (const std::string& r : required)
      if (!props->contains(r)) return make_error("json_schema: required property \"{}\" at {} has no schema", r, where);
    // tail(i, comma): properties i.. in order, each optional one skippable; `comma` says whether
    // one was written already (then the next needs a comma before it).
    std::vector<std::array<std::string, 2>> tail(list.size() + 1);
    tail[list.size()] = {"\"\"", "\"\""};
    for (size_t i = list.size(); i-- > 0;) {
      for (int comma = 0; comma < 2; ++comma) {
        const std::string with = (comma ? "\",\" ws " : "") + list[i].kv + " " + tail[i + 1][1];
        std::string body = list[i].required ? with : "(" + with + ") | " + tail[i + 1][static_cast<size_t>(comma)];
        tail[i][static_cast<size_t>(comma)] = add_rule(body);
      }
    }
    return "\"{\" ws " + tail[0][0] + " \"}\"";
  }

  Result<std::string> array(const Json& s, const std::string& where, int depth) {
    std::string item = "value";
    if (const auto it = s.find("items"); it != s.end()) {
      LIMARP_ASSIGN_OR_RETURN(item, visit(*it, where + "/items", depth + 1));
    }
    LIMARP_ASSIGN_OR_RETURN(int64_t min, count(s, "minItems", 0, where));
    LIMARP_ASSIGN_OR_RETURN(int64_t max, count(s, "maxItems", -1, where));
    if (max >= 0 && max < min) return make_error("json_schema: maxItems < minItems at {}", where);
    const std::string elem = add_rule(item + " ws");
    const std::string more = "(\",\" ws " + elem + ")";
    if (max == 0) return std::string("\"[\" ws \"]\"");
    std::string reps = max < 0 ? more + (min > 1 ? fmt::format("{{{},}}", min - 1) : "*")
                               : more + fmt::format("{{{},{}}}", min > 0 ? min - 1 : 0, max - 1);
    std::string items = elem + " " + reps;
    if (min == 0) items = "(" + items + ")?";
    return "\"[\" ws " + items + " \"]\"";
  }

  Result<std::string> string(const Json& s, const std::string& where) {
    LIMARP_ASSIGN_OR_RETURN(int64_t min, count(s, "minLength", 0, where));
    LIMARP_ASSIGN_OR_RETURN(int64_t max, count(s, "maxLength", -1, where));
    if (min == 0 && max < 0) return std::string("string");
    if (max >= 0 && max < min) return make_error("json_schema: maxLength < minLength at {}", where);
    return max < 0 ? fmt::format("\"\\\"\" char{{{},}} \"\\\"\"", min) : fmt::format("\"\\\"\" char{{{},{}}} \"\\\"\"", min, max);
  }

  Result<int64_t> count(const Json& s, const char* key, int64_t fallback, const std::string& where) {
    const auto it = s.find(key);
    if (it == s.end()) return fallback;
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > int64_t{kMaxRepeat})
      return make_error("json_schema: {} at {} must be an integer in [0, {}]", key, where, kMaxRepeat);
    return it->get<int64_t>();
  }

  static constexpr int kMaxRepeat = 1000;
  const Json& root_;
  std::map<std::string, std::string> rules_;
  std::map<std::string, std::string> refs_;
};

}  // namespace

Result<std::string> json_schema_to_gbnf(const Json& schema) { return SchemaConverter(schema).convert(); }

std::string json_object_gbnf() { return fmt::format("root ::= object\n{}", kJsonPrimitives); }

}  // namespace limarp
