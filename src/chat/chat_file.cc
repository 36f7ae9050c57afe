#include "chat/chat_file.h"

#include "base/atomic_file.h"

namespace limarp {
namespace {

constexpr JsonLimits kChatJsonLimits{.max_bytes = size_t{256} << 20, .max_depth = 16};

Result<LengthLevel> read_length(const Json& v, std::string_view where) {
  if (!v.is_string()) return make_error("{}length must be a string, got {}", where, v.dump().substr(0, 80));
  auto level = parse_length_level(v.get<std::string>());
  if (!level.ok()) return level.error().with_context(fmt::format("{}length", where));
  return level;
}

}  // namespace

Result<ChatState> chat_from_json(const Json& j, std::string_view source) {
  if (!j.is_object()) return make_error("{}: a chat must be a JSON object", source);
  const std::string where = fmt::format("{}: ", source);
  ChatState chat;
  LIMARP_TRY(json_optional_string(j, "char", where, chat.char_name));
  LIMARP_TRY(json_optional_string(j, "user", where, chat.user_name));
  LIMARP_TRY(json_optional_string(j, "char_persona", where, chat.char_persona));
  LIMARP_TRY(json_optional_string(j, "user_persona", where, chat.user_persona));
  LIMARP_TRY(json_optional_string(j, "scenario", where, chat.scenario));
  LIMARP_TRY(json_optional_string(j, "examples", where, chat.examples));
  if (auto it = j.find("length"); it != j.end() && !it->is_null()) {
    LIMARP_ASSIGN_OR_RETURN(chat.length, read_length(*it, where));
  }
  auto msgs = j.find("messages");
  if (msgs == j.end() || msgs->is_null()) return chat;
  if (!msgs->is_array()) return make_error("{}messages must be an array, got {}", where, msgs->dump().substr(0, 80));
  for (size_t i = 0; i < msgs->size(); ++i) {
    const Json& m = (*msgs)[i];
    const std::string at = fmt::format("{}messages[{}].", where, i);
    if (!m.is_object()) return make_error("{}: messages[{}] must be an object, got {}", source, i, m.dump().substr(0, 80));
    ChatMessage msg;
    auto role = m.find("role");
    if (role == m.end()) return make_error("{}role is missing", at);
    if (!role->is_string()) return make_error("{}role must be \"user\" or \"char\", got {}", at, role->dump().substr(0, 80));
    auto parsed = parse_chat_role(role->get<std::string>());
    if (!parsed.ok()) return make_error("{}role must be \"user\" or \"char\", got \"{}\"", at, role->get<std::string>());
    msg.role = *parsed;
    auto text = m.find("text");
    if (text == m.end()) return make_error("{}text is missing", at);
    LIMARP_TRY(json_optional_string(m, "text", at, msg.text));
    if (auto len = m.find("length"); len != m.end() && !len->is_null()) {
      LIMARP_ASSIGN_OR_RETURN(msg.length, read_length(*len, at));
    }
    chat.messages.push_back(std::move(msg));
  }
  return chat;
}

std::string chat_to_json_text(const ChatState& chat) {
  nlohmann::ordered_json j;
  j["char"] = chat.char_name;
  j["user"] = chat.user_name;
  j["char_persona"] = chat.char_persona;
  j["user_persona"] = chat.user_persona;
  j["scenario"] = chat.scenario;
  if (!chat.examples.empty()) j["examples"] = chat.examples;
  j["length"] = length_level_name(chat.length);
  j["messages"] = nlohmann::ordered_json::array();
  for (const auto& m : chat.messages) {
    nlohmann::ordered_json e;
    e["role"] = chat_role_name(m.role);
    e["text"] = m.text;
    if (m.length) e["length"] = length_level_name(*m.length);
    j["messages"].push_back(std::move(e));
  }
  // Invalid UTF-8 (a byte-fallback token cut mid-character) is replaced, not a crash.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Result<ChatState> load_chat_file(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(Json j, read_json_file(path, kChatJsonLimits));
  return chat_from_json(j, path);
}

Status save_chat_file(const std::string& path, const ChatState& chat) {
  return write_file_atomic(path, chat_to_json_text(chat)).with_context(fmt::format("saving chat to {}", path));
}

}  // namespace limarp
