// `limarp prompt`: render a LimaRP prompt from a chat file and/or a character card, with no
// model. Prints exactly the prompt's bytes (no newline added), or with --json the prompt, its
// segments, the stop strings and (with --tokenizer) the token ids the model would see.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "base/json_util.h"
#include "chat/character_card.h"
#include "chat/chat_file.h"
#include "chat/instruct_preset.h"
#include "chat/instruct_render.h"
#include "chat/limarp_prompt.h"
#include "chat/limarp_stop_strings.h"
#include "commands.h"
#include "tokenizer/tokenizer.h"

namespace limarp::cli {
namespace {

struct PromptCliOptions {
  std::string chat, card, preset, tokenizer, export_preset;
  std::string char_name, user_name, char_persona, user_persona, scenario;
  std::string length, modifier = "last", examples = "turns", tail = "open", generation = "new";
  size_t greeting = 0;
  bool json = false;
};

Result<ModifierPlacement> parse_modifier(const std::string& s) {
  if (s == "last") return ModifierPlacement::kLast;
  if (s == "every") return ModifierPlacement::kEvery;
  if (s == "none") return ModifierPlacement::kNone;
  return make_error("--modifier must be every, last or none, got \"{}\"", s);
}

Result<PromptTail> parse_tail(const std::string& s) {
  if (s == "open") return PromptTail::kOpenResponse;
  if (s == "continue") return PromptTail::kContinueLast;
  if (s == "closed") return PromptTail::kClosed;
  return make_error("--tail must be open, continue or closed, got \"{}\"", s);
}

Status run_prompt(const PromptCliOptions& o) {
  if (!o.export_preset.empty()) {
    LIMARP_ASSIGN_OR_RETURN(InstructPreset preset, load_instruct_preset(o.preset.empty() ? "LimaRP-Alpaca" : o.preset));
    if (o.generation != "old" && o.generation != "new")
      return make_error("--preset-generation must be old or new, got \"{}\"", o.generation);
    return save_instruct_preset(o.export_preset, preset,
                                o.generation == "old" ? PresetGeneration::kOld : PresetGeneration::kNew);
  }

  ChatState chat;
  if (!o.chat.empty()) {
    LIMARP_ASSIGN_OR_RETURN(chat, load_chat_file(o.chat));
  }
  // Flags override the chat file.
  if (!o.char_name.empty()) chat.char_name = o.char_name;
  if (!o.user_name.empty()) chat.user_name = o.user_name;
  if (!o.char_persona.empty()) chat.char_persona = o.char_persona;
  if (!o.user_persona.empty()) chat.user_persona = o.user_persona;
  if (!o.scenario.empty()) chat.scenario = o.scenario;
  if (!o.card.empty()) {
    LIMARP_ASSIGN_OR_RETURN(CharacterCard card, load_character_card(o.card));
    merge_card_into_chat(card, chat, o.greeting);
  }
  if (!o.length.empty()) {
    LIMARP_ASSIGN_OR_RETURN(chat.length, parse_length_level(o.length));
  }
  PromptOptions options;
  LIMARP_ASSIGN_OR_RETURN(options.modifier, parse_modifier(o.modifier));
  LIMARP_ASSIGN_OR_RETURN(options.tail, parse_tail(o.tail));
  if (o.examples != "turns" && o.examples != "omit")
    return make_error("--examples must be turns or omit, got \"{}\"", o.examples);
  options.examples = o.examples == "omit" ? ExampleMode::kOmit : ExampleMode::kAsTurns;

  RenderedPrompt prompt;
  std::vector<std::string> stops = default_stop_strings(chat);
  std::string preset_name;
  if (o.preset.empty()) {
    prompt = render_limarp_prompt(chat, options);
  } else {
    LIMARP_ASSIGN_OR_RETURN(InstructPreset preset, load_instruct_preset(o.preset));
    preset_name = preset.name;
    prompt = render_with_preset(chat, preset, options);
    for (auto& s : instruct_stop_strings(preset, chat))
      if (std::find(stops.begin(), stops.end(), s) == stops.end()) stops.push_back(s);
  }
  const std::string text = prompt.text();
  if (!o.json) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return {};
  }
  Json j;
  j["prompt"] = text;
  j["preset"] = preset_name.empty() ? Json(nullptr) : Json(preset_name);
  j["length"] = length_level_name(chat.length);
  j["segments"] = Json::array();
  for (const auto& s : prompt.segments)
    j["segments"].push_back({{"kind", segment_kind_name(s.kind)}, {"message_index", s.message_index}, {"text", s.text}});
  j["stop_strings"] = stops;
  if (!o.tokenizer.empty()) {
    LIMARP_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::load(o.tokenizer));
    j["tokens"] = tok.encode(text, {.add_bos = true});
  }
  std::printf("%s\n", j.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
  return {};
}

}  // namespace

void register_prompt(CLI::App& root, RunState& state) {
  auto o = std::make_shared<PromptCliOptions>();
  CLI::App* cmd = root.add_subcommand("prompt", "Render the LimaRP prompt for a chat (no model needed)");
  cmd->add_option("--chat", o->chat, "CHAT.json (see docs/chat.md)");
  cmd->add_option("--card", o->card, "SillyTavern character card, PNG or JSON (fills what the chat leaves empty)");
  cmd->add_option("--greeting", o->greeting, "With --card: 0 = first_mes, N = alternate greeting N");
  cmd->add_option("--char", o->char_name, "Character name");
  cmd->add_option("--user", o->user_name, "User name");
  cmd->add_option("--char-persona", o->char_persona, "Character persona");
  cmd->add_option("--user-persona", o->user_persona, "User persona");
  cmd->add_option("--scenario", o->scenario, "Scenario");
  cmd->add_option("--length", o->length, "tiny|short|medium|long|huge|humongous|extreme|unlimited (default: the chat's)");
  cmd->add_option("--preset", o->preset, "SillyTavern instruct preset: a JSON file or a built-in name (LimaRP-Alpaca)");
  cmd->add_option("--modifier", o->modifier, "Length modifier on: last (the open header), every response header, none")
      ->capture_default_str();
  cmd->add_option("--examples", o->examples, "Card example dialogue: turns or omit")->capture_default_str();
  cmd->add_option("--tail", o->tail, "open (a new reply), continue (the last reply), closed (training text)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON: prompt, segments, stop_strings (and tokens with --tokenizer)");
  cmd->add_option("--tokenizer", o->tokenizer, "With --json: add the token ids (BOS first)");
  cmd->add_option("--export-preset", o->export_preset, "Write the --preset (default LimaRP-Alpaca) as JSON and exit");
  cmd->add_option("--preset-generation", o->generation, "Field generation for --export-preset: old or new")
      ->capture_default_str();
  cmd->callback([o, &state] { state.exit_code = report(run_prompt(*o)); });
}

}  // namespace limarp::cli
