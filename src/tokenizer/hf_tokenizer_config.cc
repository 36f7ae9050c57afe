// Hugging Face tokenizer_config.json: the switches that decide what encode() adds around the
// text. Llama-2 folders ship {"add_bos_token": true, "add_eos_token": false,
// "bos_token": "<s>" or {"content": "<s>", ...}, "eos_token": ..., ...}. Everything else in
// the file (chat_template, model_max_length, padding) is for other layers or irrelevant here.
#include "base/json_util.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {
namespace {

// A token named as "text" or as an AddedToken object {"content": "text"}; nullopt for null
// or absent.
Result<std::optional<std::string>> token_name(const Json& config, const char* key, const std::string& source) {
  if (!config.contains(key) || config[key].is_null()) return std::optional<std::string>();
  const Json& t = config[key];
  if (t.is_string()) return std::optional<std::string>(t.get<std::string>());
  if (t.is_object() && t.contains("content") && t["content"].is_string())
    return std::optional<std::string>(t["content"].get<std::string>());
  return make_error("{}: {} must be a string or an object with \"content\", got {}", source, key, t.dump());
}

}  // namespace

Status apply_hf_tokenizer_config(const std::string& path, Vocab& vocab) {
  LIMARP_ASSIGN_OR_RETURN(Json config, read_json_file(path));
  if (!config.is_object()) return make_error("{}: the top level must be a JSON object", path);
  auto flag = [&](const char* key, bool& out) -> Status {
    if (!config.contains(key) || config[key].is_null()) return {};
    if (!config[key].is_boolean())
      return make_error("{}: {} must be true or false, got {}", path, key, config[key].dump());
    out = config[key].get<bool>();
    return {};
  };
  LIMARP_TRY(flag("add_bos_token", vocab.add_bos));
  LIMARP_TRY(flag("add_eos_token", vocab.add_eos));
  auto special = [&](const char* key, int32_t& id) -> Status {
    LIMARP_ASSIGN_OR_RETURN(std::optional<std::string> name, token_name(config, key, path));
    if (!name) return {};
    for (size_t i = 0; i < vocab.pieces.size(); ++i) {
      if (vocab.pieces[i] == *name) {
        id = static_cast<int32_t>(i);
        return {};
      }
    }
    return make_error("{}: {} {:?} is not in the vocabulary — a tokenizer_config.json from another model?", path,
                      key, *name);
  };
  LIMARP_TRY(special("bos_token", vocab.bos_id));
  LIMARP_TRY(special("eos_token", vocab.eos_id));
  return {};
}

}  // namespace limarp
