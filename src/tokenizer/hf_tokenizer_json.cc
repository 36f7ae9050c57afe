// Hugging Face tokenizer.json of Llama-2 models: a BPE model with byte fallback over the
// SentencePiece vocabulary, turned back into a SentencePiece vocabulary.
//
// What such a file holds (HF's LlamaConverter writes it from tokenizer.model):
//   model:         {"type": "BPE", "vocab": {piece: id}, "merges": ["▁ t", ...] or
//                   [["▁", "t"], ...], "byte_fallback": true, "unk_token": "<unk>", ...}
//   added_tokens:  [{"id": 1, "content": "<s>", "special": true, ...}, ...]
//   normalizer:    Sequence[Prepend("▁"), Replace(" " → "▁")]   (the dummy prefix, escaping)
//     or, newer:   normalizer null + pre_tokenizer Metaspace("▁", prepend_scheme, split=false)
//   post_processor TemplateProcessing "<s> $A" (BOS), decoder Replace/ByteFallback/Fuse/Strip.
// The file has no scores: the converter lists merges in order of the merged piece's score,
// so a piece's score here is minus the rank of its first merge. With that, SentencePiece's
// "merge the best-scoring pair" is HF's "apply the lowest-ranked merge".
// Anything that changes the text differently (other normalizers, splitting pre-tokenizers,
// subword prefixes, dropout) is refused with the field named, not half-supported.
#include <unordered_map>

#include "base/json_util.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {
namespace {

constexpr int64_t kMaxVocab = int64_t{1} << 22;
constexpr const char* kMark = kSpaceMark;

// How the normalizer and pre-tokenizer treat spaces: the two things that must match
// SentencePiece's identity rule (escape spaces as "▁", optionally prepend one).
struct SpaceHandling {
  bool escapes = false;
  bool prefix = false;
};

bool is_null_or_false(const Json& j) { return j.is_null() || (j.is_boolean() && !j.get<bool>()); }

Status read_normalizer(const Json& n, SpaceHandling& s, const std::string& where) {
  if (n.is_null()) return {};
  if (!n.is_object() || !n.contains("type") || !n["type"].is_string())
    return make_error("{} must be an object with a \"type\"", where);
  const std::string type = n["type"].get<std::string>();
  if (type == "Sequence") {
    const Json& list = n.contains("normalizers") ? n["normalizers"] : Json();
    if (!list.is_array()) return make_error("{}.normalizers must be an array", where);
    for (size_t i = 0; i < list.size(); ++i)
      LIMARP_TRY(read_normalizer(list[i], s, fmt::format("{}.normalizers[{}]", where, i)));
    return {};
  }
  if (type == "Prepend") {
    if (!n.contains("prepend") || n["prepend"] != kMark)
      return make_error("{}: Prepend of {} is not supported (only \"▁\", the dummy prefix)", where,
                        n.contains("prepend") ? n["prepend"].dump() : "nothing");
    s.prefix = true;
    return {};
  }
  if (type == "Replace") {
    const Json& pattern = n.contains("pattern") ? n["pattern"] : Json();
    if (!pattern.is_object() || !pattern.contains("String") || pattern["String"] != " " || !n.contains("content") ||
        n["content"] != kMark)
      return make_error("{}: only Replace(\" \" → \"▁\") is supported, got {}", where, n.dump());
    s.escapes = true;
    return {};
  }
  return make_error("{}: normalizer {:?} is not supported (Llama-2 uses Prepend and Replace)", where, type);
}

Status read_pre_tokenizer(const Json& p, SpaceHandling& s, const std::string& where) {
  if (p.is_null()) return {};
  if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
    return make_error("{} must be an object with a \"type\"", where);
  const std::string type = p["type"].get<std::string>();
  if (type == "Sequence") {
    const Json& list = p.contains("pretokenizers") ? p["pretokenizers"] : Json();
    if (!list.is_array()) return make_error("{}.pretokenizers must be an array", where);
    for (size_t i = 0; i < list.size(); ++i)
      LIMARP_TRY(read_pre_tokenizer(list[i], s, fmt::format("{}.pretokenizers[{}]", where, i)));
    return {};
  }
  if (type != "Metaspace")
    return make_error("{}: pre-tokenizer {:?} is not supported (a SentencePiece-style BPE has none, or Metaspace)",
                      where, type);
  if (!p.contains("replacement") || p["replacement"] != kMark)
    return make_error("{}: Metaspace replacement must be \"▁\"", where);
  // Without "split", older files split words at "▁", which SentencePiece never does.
  if (!p.contains("split") || !is_null_or_false(p["split"]))
    return make_error("{}: Metaspace that splits at \"▁\" is not supported (SentencePiece merges across it)", where);
  s.escapes = true;
  if (p.contains("prepend_scheme") && p["prepend_scheme"].is_string()) {
    const std::string scheme = p["prepend_scheme"].get<std::string>();
    if (scheme != "always" && scheme != "first" && scheme != "never")
      return make_error("{}: unknown prepend_scheme {:?}", where, scheme);
    s.prefix = scheme != "never";
  } else if (p.contains("add_prefix_space") && p["add_prefix_space"].is_boolean()) {
    s.prefix = p["add_prefix_space"].get<bool>();
  } else {
    s.prefix = true;
  }
  return {};
}

Result<int64_t> token_id(const Json& value, const std::string& where) {
  if (!value.is_number_integer()) return make_error("{} must be an integer id, got {}", where, value.dump());
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id >= kMaxVocab) return make_error("{} is {}, outside 0..{}", where, id, kMaxVocab - 1);
  return id;
}

// One merge, as "left right" or ["left", "right"].
Status split_merge(const Json& m, std::string& left, std::string& right, size_t index) {
  if (m.is_string()) {
    const std::string s = m.get<std::string>();
    const size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
      return make_error("model.merges[{}] {:?} is not two pieces separated by one space", index, s);
    left = s.substr(0, space);
    right = s.substr(space + 1);
    return {};
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    left = m[0].get<std::string>();
    right = m[1].get<std::string>();
    return {};
  }
  return make_error("model.merges[{}] must be \"left right\" or [\"left\", \"right\"], got {}", index, m.dump());
}

// BOS/EOS from a TemplateProcessing post-processor: special tokens before / after $A.
void read_post_processor(const Json& p, Vocab& v, std::vector<std::string>& bos, std::vector<std::string>& eos) {
  if (!p.is_object() || !p.contains("type") || p["type"] != "TemplateProcessing" || !p.contains("single") ||
      !p["single"].is_array())
    return;
  bool seen_sequence = false;
  for (const Json& item : p["single"]) {
    if (!item.is_object()) continue;
    if (item.contains("Sequence")) seen_sequence = true;
    if (item.contains("SpecialToken") && item["SpecialToken"].is_object() && item["SpecialToken"].contains("id") &&
        item["SpecialToken"]["id"].is_string())
      (seen_sequence ? eos : bos).push_back(item["SpecialToken"]["id"].get<std::string>());
  }
  v.add_bos = !bos.empty();
  v.add_eos = !eos.empty();
}

}  // namespace

Result<Vocab> parse_hf_tokenizer_json(std::string_view text, const std::string& source) {
  auto fail = [&](const Error& e) { return e.with_context(source); };
  LIMARP_ASSIGN_OR_RETURN(Json j, parse_json(text, source));
  if (!j.is_object()) return fail(make_error("the top level must be a JSON object"));
  if (!j.contains("model") || !j["model"].is_object()) return fail(make_error("no \"model\" object"));
  const Json& model = j["model"];
  if (model.contains("type") && model["type"] != "BPE")
    return fail(make_error("model.type is {}; only BPE (Llama-2 style) is supported", model["type"].dump()));
  if (!model.contains("vocab") || !model["vocab"].is_object()) return fail(make_error("model.vocab must be an object"));
  if (!model.contains("merges") || !model["merges"].is_array())
    return fail(make_error("model.merges must be an array"));
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() && model[key] != "")
      return fail(make_error("model.{} is not supported (SentencePiece BPE has none)", key));
  if (model.contains("dropout") && !model["dropout"].is_null() &&
      !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0))
    return fail(make_error("model.dropout is not supported (it makes encoding random)"));
  if (model.contains("ignore_merges") && !is_null_or_false(model["ignore_merges"]))
    return fail(make_error("model.ignore_merges is not supported (SentencePiece always merges)"));
  const bool byte_fallback = model.contains("byte_fallback") && model["byte_fallback"] == true;

  // Pieces by id: the vocab plus added tokens; ids must cover 0..n-1 exactly once, so no id
  // can exceed the number of entries (which also bounds memory for a hostile file).
  const bool has_added = j.contains("added_tokens") && j["added_tokens"].is_array();
  const size_t entries = model["vocab"].size() + (has_added ? j["added_tokens"].size() : 0);
  std::vector<std::string> pieces;
  std::vector<bool> present;
  auto put = [&](int64_t id, const std::string& piece, const std::string& where) -> Status {
    const auto i = static_cast<size_t>(id);
    if (i >= entries)
      return make_error("{}: id {} but there are only {} tokens (ids must be 0..n-1 without gaps)", where, id, entries);
    if (i >= pieces.size()) {
      pieces.resize(i + 1);
      present.resize(i + 1, false);
    }
    if (present[i] && pieces[i] != piece)
      return make_error("{}: id {} is both {:?} and {:?}", where, id, pieces[i], piece);
    pieces[i] = piece;
    present[i] = true;
    return {};
  };
  for (const auto& [piece, value] : model["vocab"].items()) {
    auto id = token_id(value, fmt::format("model.vocab[{:?}]", piece));
    if (!id.ok()) return fail(id.error());
    if (Status s = put(*id, piece, "model.vocab"); !s.ok()) return fail(s.error());
  }
  struct Added {
    int64_t id;
    bool special;
  };
  std::vector<Added> added;
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) return fail(make_error("added_tokens must be an array"));
    const Json& list = j["added_tokens"];
    for (size_t k = 0; k < list.size(); ++k) {
      const Json& t = list[k];
      const std::string where = fmt::format("added_tokens[{}]", k);
      if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["content"].is_string())
        return fail(make_error("{} must be an object with \"id\" and \"content\"", where));
      auto id = token_id(t["id"], where + ".id");
      if (!id.ok()) return fail(id.error());
      if (Status s = put(*id, t["content"].get<std::string>(), where); !s.ok()) return fail(s.error());
      added.push_back({*id, t.contains("special") && t["special"] == true});
    }
  }
  if (pieces.empty()) return fail(make_error("model.vocab is empty"));
  std::unordered_map<std::string, int32_t> id_of;
  id_of.reserve(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (!present[i])
      return fail(make_error("no token has id {} (ids must be 0..{} without gaps)", i, pieces.size() - 1));
    id_of.emplace(pieces[i], static_cast<int32_t>(i));
  }

  Vocab v;
  v.pieces = std::move(pieces);
  const size_t n = v.pieces.size();
  v.types.assign(n, TokenType::kNormal);
  for (size_t i = 0; i < n; ++i) {
    const std::string& p = v.pieces[i];
    if (byte_fallback && byte_piece_value(p) >= 0)
      v.types[i] = TokenType::kByte;
  }
  for (const Added& a : added)
    v.types[static_cast<size_t>(a.id)] = a.special ? TokenType::kControl : TokenType::kUserDefined;
  v.unk_id = -1;
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    const auto it = id_of.find(model["unk_token"].get<std::string>());
    if (it == id_of.end())
      return fail(make_error("model.unk_token {} is not in the vocabulary", model["unk_token"].dump()));
    v.unk_id = it->second;
    v.types[static_cast<size_t>(it->second)] = TokenType::kUnknown;
  }

  // Scores from merge ranks: the first (best) merge that makes a piece gives its score.
  const Json& merges = model["merges"];
  if (merges.size() >= (size_t{1} << 24)) return fail(make_error("{} merges are too many", merges.size()));
  std::vector<int64_t> rank(n, -1);
  std::string left, right;
  for (size_t k = 0; k < merges.size(); ++k) {
    if (Status s = split_merge(merges[k], left, right, k); !s.ok()) return fail(s.error());
    for (const std::string* part : {&left, &right})
      if (!id_of.count(*part))
        return fail(make_error("model.merges[{}] uses {:?}, which is not in the vocabulary", k, *part));
    const auto it = id_of.find(left + right);
    if (it == id_of.end())
      return fail(make_error("model.merges[{}] makes {:?}, which is not in the vocabulary", k, left + right));
    int64_t& r = rank[static_cast<size_t>(it->second)];
    if (r < 0) r = static_cast<int64_t>(k);
  }
  v.scores.assign(n, 0.0f);
  const auto n_merges = static_cast<int64_t>(merges.size());
  for (size_t i = 0; i < n; ++i) {
    if (v.types[i] != TokenType::kNormal && v.types[i] != TokenType::kUserDefined) continue;
    // Pieces no merge makes (single characters) rank after every merge; their score is never
    // compared, but keeping it lowest keeps a written tokenizer.model faithful.
    v.scores[i] = -static_cast<float>(rank[i] >= 0 ? rank[i] : n_merges + static_cast<int64_t>(i));
  }

  SpaceHandling spaces;
  if (j.contains("normalizer"))
    if (Status s = read_normalizer(j["normalizer"], spaces, "normalizer"); !s.ok()) return fail(s.error());
  if (j.contains("pre_tokenizer"))
    if (Status s = read_pre_tokenizer(j["pre_tokenizer"], spaces, "pre_tokenizer"); !s.ok()) return fail(s.error());
  if (!spaces.escapes)
    return fail(make_error("spaces are not written as \"▁\" (no Replace normalizer or Metaspace pre-tokenizer): "
                           "not a Llama-style tokenizer.json"));
  v.add_space_prefix = spaces.prefix;

  // BOS/EOS: the post-processor's template names them; else the Llama names.
  std::vector<std::string> bos_names, eos_names;
  v.add_bos = false;
  v.add_eos = false;
  if (j.contains("post_processor")) read_post_processor(j["post_processor"], v, bos_names, eos_names);
  bos_names.push_back("<s>");
  eos_names.push_back("</s>");
  auto first_known = [&](const std::vector<std::string>& names) {
    for (const std::string& name : names)
      if (auto it = id_of.find(name); it != id_of.end()) return it->second;
    return -1;
  };
  v.bos_id = first_known(bos_names);
  v.eos_id = first_known(eos_names);
  // BOS and EOS are control tokens whatever added_tokens says (Llama's tokenizer.model agrees).
  for (int32_t id : {v.bos_id, v.eos_id})
    if (id >= 0 && v.types[static_cast<size_t>(id)] != TokenType::kUnknown)
      v.types[static_cast<size_t>(id)] = TokenType::kControl;
  if (v.bos_id < 0) v.add_bos = false;
  if (v.eos_id < 0) v.add_eos = false;
  LIMARP_TRY(v.validate(source));
  return v;
}

}  // namespace limarp
