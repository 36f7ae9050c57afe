#include "chat/character_card.h"

#include "base/mapped_file.h"
#include "base/text_util.h"
#include "chat/base64.h"
#include "chat/macros.h"
#include "chat/png_text.h"

namespace limarp {
namespace {

constexpr JsonLimits kCardJsonLimits{.max_bytes = size_t{32} << 20, .max_depth = 64};
constexpr size_t kMaxCardFileBytes = size_t{64} << 20;

Status read_strings(const Json& obj, std::string_view key, std::string_view where, std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_array()) return make_error("{}{} must be an array of strings", where, key);
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) return make_error("{}{}[{}] must be a string", where, key, i);
    out.push_back((*it)[i].get<std::string>());
  }
  return {};
}

Status read_fields(const Json& d, std::string_view where, CharacterCard& c) {
  LIMARP_TRY(json_optional_string(d, "name", where, c.name));
  LIMARP_TRY(json_optional_string(d, "description", where, c.description));
  LIMARP_TRY(json_optional_string(d, "personality", where, c.personality));
  LIMARP_TRY(json_optional_string(d, "scenario", where, c.scenario));
  LIMARP_TRY(json_optional_string(d, "first_mes", where, c.first_mes));
  LIMARP_TRY(json_optional_string(d, "mes_example", where, c.mes_example));
  LIMARP_TRY(json_optional_string(d, "creator_notes", where, c.creator_notes));
  LIMARP_TRY(json_optional_string(d, "system_prompt", where, c.system_prompt));
  LIMARP_TRY(json_optional_string(d, "post_history_instructions", where, c.post_history_instructions));
  LIMARP_TRY(json_optional_string(d, "creator", where, c.creator));
  LIMARP_TRY(json_optional_string(d, "character_version", where, c.character_version));
  LIMARP_TRY(json_optional_string(d, "nickname", where, c.nickname));
  LIMARP_TRY(read_strings(d, "alternate_greetings", where, c.alternate_greetings));
  LIMARP_TRY(read_strings(d, "tags", where, c.tags));
  return {};
}

std::string card_persona(const CharacterCard& card) {
  const std::string_view description = trim_whitespace(card.description);
  const std::string_view personality = trim_whitespace(card.personality);
  if (personality.empty()) return std::string(description);
  std::string out(description);
  if (!out.empty()) out += '\n';
  out += "Personality: ";
  out += personality;
  return out;
}

}  // namespace

const char* card_spec_name(CardSpec spec) {
  switch (spec) {
    case CardSpec::kV1: return "v1";
    case CardSpec::kV2: return "v2";
    case CardSpec::kV3: return "v3";
  }
  return "?";
}

Result<CharacterCard> parse_character_card(const Json& json, std::string_view source) {
  if (!json.is_object()) return make_error("{}: a character card must be a JSON object", source);
  CharacterCard card;
  card.raw = json;
  auto spec_it = json.find("spec");
  if (spec_it != json.end() && !spec_it->is_null()) {
    if (!spec_it->is_string()) return make_error("{}: spec must be a string, got {}", source, spec_it->dump());
    const std::string spec = spec_it->get<std::string>();
    if (spec == "chara_card_v2") card.spec = CardSpec::kV2;
    else if (spec == "chara_card_v3") card.spec = CardSpec::kV3;
    else return make_error("{}: unknown card spec \"{}\" (expected chara_card_v2 or chara_card_v3)", source, spec);
    auto data = json.find("data");
    if (data == json.end() || !data->is_object())
      return make_error("{}: a {} card needs a \"data\" object", source, spec);
    LIMARP_TRY(read_fields(*data, "data.", card).with_context(source));
    if (trim_whitespace(card.name).empty()) return make_error("{}: data.name is missing or empty", source);
    return card;
  }
  // V1: the fields at the top level.
  card.spec = CardSpec::kV1;
  if (!json.contains("name") && !json.contains("description") && !json.contains("first_mes"))
    return make_error("{}: not a character card (no spec, and no name/description/first_mes)", source);
  LIMARP_TRY(read_fields(json, "", card).with_context(source));
  if (trim_whitespace(card.name).empty()) return make_error("{}: name is missing or empty", source);
  return card;
}

Result<CharacterCard> parse_character_card_text(std::string_view json_text, std::string_view source) {
  LIMARP_ASSIGN_OR_RETURN(Json j, parse_json(json_text, source, kCardJsonLimits));
  return parse_character_card(j, source);
}

Result<CharacterCard> read_character_card_png(std::span<const uint8_t> bytes, std::string_view source) {
  LIMARP_ASSIGN_OR_RETURN(auto chunks, read_png_text_chunks(bytes, source));
  const PngTextChunk* chosen = nullptr;
  bool saw_compressed = false;
  for (const char* keyword : {"ccv3", "chara"}) {
    for (const auto& c : chunks) {
      if (c.keyword != keyword) continue;
      if (c.compressed) {
        saw_compressed = true;
        continue;
      }
      chosen = &c;
      break;
    }
    if (chosen) break;
  }
  if (!chosen) {
    if (saw_compressed) return make_error("{}: the card's text chunk is zlib-compressed (zTXt/iTXt), which is not supported", source);
    return make_error("{}: this PNG holds no character card (no \"chara\" or \"ccv3\" text chunk)", source);
  }
  const std::string where = fmt::format("{} ({} chunk)", source, chosen->keyword);
  auto json_text = base64_decode(chosen->text);
  if (!json_text.ok()) return json_text.error().with_context(where);
  return parse_character_card_text(*json_text, where);
}

Result<CharacterCard> load_character_card(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(std::string bytes, read_text_file(path, kMaxCardFileBytes));
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (looks_like_png(span)) return read_character_card_png(span, path);
  return parse_character_card_text(bytes, path);
}

ChatState chat_from_card(const CharacterCard& card, const CardChatOptions& options) {
  ChatState chat;
  chat.user_name = options.user_name;
  chat.user_persona = options.user_persona;
  chat.length = options.length;
  merge_card_into_chat(card, chat, options.greeting);
  return chat;
}

void merge_card_into_chat(const CharacterCard& card, ChatState& chat, size_t greeting) {
  if (trim_whitespace(chat.char_name).empty()) chat.char_name = std::string(trim_whitespace(card.name));
  const std::string user = std::string(trim_whitespace(chat.user_name).empty() ? kDefaultUserName : trim_whitespace(chat.user_name));
  const MacroNames names{chat.char_name, user};
  auto sub = [&](const std::string& s) { return clean_field(substitute_macros(s, names)); };
  if (trim_whitespace(chat.char_persona).empty()) chat.char_persona = sub(card_persona(card));
  if (trim_whitespace(chat.scenario).empty()) chat.scenario = sub(card.scenario);
  // Examples keep their macros: their speaker tags must match the names at render time.
  if (trim_whitespace(chat.examples).empty()) chat.examples = clean_field(card.mes_example);
  if (chat.messages.empty()) {
    const std::string& text =
        greeting >= 1 && greeting <= card.alternate_greetings.size() ? card.alternate_greetings[greeting - 1] : card.first_mes;
    if (!trim_whitespace(text).empty()) chat.messages.push_back({ChatRole::kChar, sub(text), std::nullopt});
  }
}

}  // namespace limarp
