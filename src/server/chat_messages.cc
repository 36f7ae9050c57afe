#include "server/chat_messages.h"

#include "base/text_util.h"
#include "server/request_fields.h"

namespace limarp::server {
namespace {

constexpr size_t kMaxMessages = 10000;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

Result<std::string> message_text(const Json& m, size_t i) {
  const auto it = m.find("content");
  if (it == m.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    std::string out;
    for (size_t k = 0; k < it->size(); ++k) {
      const Json& part = (*it)[k];
      // Checked member by member: a "type" that is a number must be a 400, not a type error.
      const auto type = part.is_object() ? part.find("type") : part.end();
      const auto text = part.is_object() ? part.find("text") : part.end();
      if (!part.is_object() || type == part.end() || !type->is_string() || *type != "text" || text == part.end() ||
          !text->is_string())
        return make_error("messages[{}].content[{}] must be a {{\"type\": \"text\", \"text\": ...}} part, got {}", i, k,
                          json_brief(part));
      if (!out.empty()) out += "\n";
      out += text->get<std::string>();
    }
    return out;
  }
  return make_error("messages[{}].content must be a string or an array of text parts, got {}", i, json_brief(*it));
}

void append_paragraph(std::string& field, std::string_view text) {
  if (text.empty()) return;
  if (!field.empty()) field += "\n\n";
  field += text;
}

// Routes one system paragraph to its field (see the header).
void route_system_paragraph(std::string_view p, ChatState& chat, std::string& char_persona, std::string& user_persona,
                            std::string& scenario) {
  if (starts_with(p, "### Instruction:")) p = trim_whitespace(p.substr(16));
  if (p.empty() || starts_with(p, "Play the role of ")) return;
  if (starts_with(p, "Scenario:")) {
    append_paragraph(scenario, trim_whitespace(p.substr(9)));
    return;
  }
  const size_t label = p.find("'s Persona:");
  if (label != std::string_view::npos && p.substr(0, label).find('\n') == std::string_view::npos) {
    const std::string_view who = trim_whitespace(p.substr(0, label));
    const std::string_view text = trim_whitespace(p.substr(label + 11));
    if (!chat.user_name.empty() && who == chat.user_name) {
      append_paragraph(user_persona, text);
      return;
    }
    if (chat.char_name.empty()) chat.char_name = std::string(who);
    if (who == chat.char_name) {
      append_paragraph(char_persona, text);
      return;
    }
  }
  append_paragraph(char_persona, p);
}

}  // namespace

Result<ChatFromMessages> chat_from_messages(const Json& body) {
  ChatFromMessages out;
  ChatState& chat = out.chat;
  RequestFields f(body);
  LIMARP_TRY(f.string({"char_name"}, chat.char_name));
  LIMARP_TRY(f.string({"user_name"}, chat.user_name));
  std::string length;
  LIMARP_TRY(f.string({"length"}, length));
  if (!length.empty()) {
    auto level = parse_length_level(length);
    if (!level.ok()) return make_error("length: {}", level.error().message());
    chat.length = *level;
  }
  LIMARP_TRY(f.string({"examples"}, chat.examples));

  const Json* messages = f.find({"messages"});
  if (!messages) return make_error("messages is required");
  if (!messages->is_array() || messages->empty()) return make_error("messages must be a non-empty array");
  if (messages->size() > kMaxMessages) return make_error("messages has more than {} entries", kMaxMessages);

  // First pass: roles, texts, names.
  struct Msg {
    std::string role, text, name;
  };
  std::vector<Msg> msgs;
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    if (!m.is_object()) return make_error("messages[{}] must be an object", i);
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return make_error("messages[{}].role must be a string", i);
    Msg msg{role->get<std::string>(), "", ""};
    if (msg.role == "developer") msg.role = "system";
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      return make_error("messages[{}].role must be one of system, user, assistant; got {:?}", i, msg.role);
    LIMARP_ASSIGN_OR_RETURN(msg.text, message_text(m, i));
    if (const auto name = m.find("name"); name != m.end() && !name->is_null()) {
      if (!name->is_string()) return make_error("messages[{}].name must be a string", i);
      msg.name = std::string(trim_whitespace(name->get<std::string>()));
    }
    if (msg.role == "user" && chat.user_name.empty()) chat.user_name = msg.name;
    if (msg.role == "assistant" && chat.char_name.empty()) chat.char_name = msg.name;
    msgs.push_back(std::move(msg));
  }

  // System paragraphs to the instruction block's fields.
  std::string char_persona, user_persona, scenario;
  for (const Msg& m : msgs) {
    if (m.role != "system") continue;
    const std::string text = normalize_newlines(m.text);
    std::string_view rest = text;
    while (!rest.empty()) {
      const size_t gap = rest.find("\n\n");
      route_system_paragraph(trim_whitespace(rest.substr(0, gap)), chat, char_persona, user_persona, scenario);
      rest = gap == std::string_view::npos ? std::string_view() : rest.substr(gap + 2);
    }
  }
  chat.char_persona = char_persona;
  chat.user_persona = user_persona;
  chat.scenario = scenario;
  LIMARP_TRY(f.string({"char_persona"}, chat.char_persona));
  LIMARP_TRY(f.string({"user_persona"}, chat.user_persona));
  LIMARP_TRY(f.string({"scenario"}, chat.scenario));

  // The turns.
  for (const Msg& m : msgs) {
    if (m.role == "system") continue;
    const bool is_char = m.role == "assistant";
    const std::string who = is_char ? (chat.char_name.empty() ? std::string(kDefaultCharName) : chat.char_name)
                                    : (chat.user_name.empty() ? std::string(kDefaultUserName) : chat.user_name);
    std::string_view text = trim_whitespace(m.text);
    if (starts_with(text, who + ":")) text = trim_whitespace(text.substr(who.size() + 1));
    chat.messages.push_back({is_char ? ChatRole::kChar : ChatRole::kUser, std::string(text), std::nullopt});
  }
  if (!msgs.empty() && msgs.back().role == "assistant") {
    if (chat.messages.back().text.empty()) chat.messages.pop_back();
    else out.tail = PromptTail::kContinueLast;
  }
  return out;
}

}  // namespace limarp::server
