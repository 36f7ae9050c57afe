// `limarp chat`: a roleplay chat in the terminal. Replies stream as they are generated;
// Ctrl-C stops the current reply (not the program); commands start with '/'.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "base/log.h"
#include "base/text_util.h"
#include "base/thread_pool.h"
#include "chat/character_card.h"
#include "chat/chat_file.h"
#include "chat/chat_session.h"
#include "chat/limarp_prompt.h"
#include "commands.h"
#include "grammar_options.h"
#include "infer/adapter_specs.h"
#include "model_options.h"
#include "speculative_options.h"
#include "sampler_options.h"

namespace limarp::cli {
namespace {

struct ChatOptions {
  ModelCliOptions model;
  std::string card, load, save;
  std::string char_name, char_persona, user_name, user_persona, scenario, length = "medium";
  int64_t ctx = 0, max_reply = 256;
  bool no_shift = false, no_trim = false, show_words = false;
  SamplerCliOptions sampler;
  GrammarCliOptions grammar;
  SpeculativeCliOptions speculative;
};

constexpr const char* kHelp =
    "commands:\n"
    "  /length [LEVEL]  show or set the reply length (tiny short medium long huge humongous extreme unlimited)\n"
    "  /regen           replace the last reply with a new one\n"
    "  /undo            remove the last exchange (your message and the reply)\n"
    "  /edit TEXT       replace the character's last message with TEXT\n"
    "  /save FILE       save the chat (CHAT.json; written atomically)\n"
    "  /load FILE       load a chat\n"
    "  /card [FILE]     show the character, or load a character card (PNG or JSON)\n"
    "  /help            this list\n"
    "  /quit            leave (Ctrl-D too)\n"
    "Ctrl-C stops a reply while it is being written.\n";

// Ctrl-C is taken by a thread of its own (sigwait), which only raises a flag: generation
// checks it between tokens, so a reply stops cleanly and the program goes on.
std::shared_ptr<std::atomic<bool>> watch_interrupts() {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([flag, set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) flag->store(true);
    }
  }).detach();
  return flag;
}

void print_reply_header(const ChatState& chat) {
  std::printf("%s: ", effective_char_name(chat).c_str());
  std::fflush(stdout);
}

class ChatRepl {
 public:
  ChatRepl(ChatSession& chat, const ChatOptions& o, std::shared_ptr<std::atomic<bool>> interrupted)
      : chat_(chat), o_(o), interrupted_(std::move(interrupted)) {}

  Status run() {
    const ChatState& c = chat_.chat();
    std::printf("Chatting with %s as %s (length: %s). /help lists commands.\n", effective_char_name(c).c_str(),
                effective_user_name(c).c_str(), length_level_name(c.length));
    for (const auto& m : c.messages)
      std::printf("%s: %s\n", m.role == ChatRole::kChar ? effective_char_name(c).c_str() : effective_user_name(c).c_str(),
                  m.text.c_str());
    std::string line;
    for (;;) {
      std::printf("%s> ", effective_user_name(chat_.chat()).c_str());
      std::fflush(stdout);
      if (!std::getline(std::cin, line)) break;
      // A terminal shows what was typed; piped input (a script, the demo) is echoed so the
      // transcript reads as a conversation.
      if (!stdin_is_tty_) std::printf("%s\n", line.c_str());
      interrupted_->store(false);
      if (line.empty()) continue;
      if (line[0] == '/') {
        bool quit = false;
        Status s = command(line, quit);
        if (!s.ok()) std::printf("error: %s\n", s.error().message().c_str());
        if (quit) break;
        continue;
      }
      chat_.chat().messages.push_back({ChatRole::kUser, line, std::nullopt});
      LIMARP_TRY(generate([&](const TextCallback& cb) { return chat_.reply(cb); }));
    }
    std::printf("\n");
    return autosave();
  }

 private:
  template <typename F>
  Status generate(F&& step) {
    print_reply_header(chat_.chat());
    auto r = step([&](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return !interrupted_->load();
    });
    std::printf("\n");
    if (!r.ok()) {
      std::printf("error: %s\n", r.error().message().c_str());
      return {};
    }
    const GenerationResult& g = r->generation;
    log::debug("[{} tokens in {:.0f} ms; prompt: {} reused, {} evaluated, {} shifted; {} dropped turns; stop: {}]",
               g.tokens.size(), g.generation_ms, g.prompt.reused, g.prompt.evaluated, g.prompt.shifted_out,
               r->dropped_messages, stop_reason_name(g.reason));
    if (g.reason == StopReason::kCancelled) std::printf("(stopped)\n");
    if (o_.show_words)
      std::printf("(%lld words at length %s)\n", static_cast<long long>(count_words(g.text)),
                  length_level_name(chat_.chat().length));
    return autosave();
  }

  Status autosave() {
    if (o_.save.empty()) return {};
    return save_chat_file(o_.save, chat_.chat());
  }

  Status command(const std::string& line, bool& quit) {
    const auto space = line.find(' ');
    const std::string cmd = line.substr(0, space);
    std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
    while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\r')) arg.pop_back();
    ChatState& c = chat_.chat();
    if (cmd == "/quit" || cmd == "/exit") {
      quit = true;
    } else if (cmd == "/help") {
      std::printf("%s", kHelp);
    } else if (cmd == "/length") {
      if (!arg.empty()) {
        LIMARP_ASSIGN_OR_RETURN(c.length, parse_length_level(arg));
      }
      std::printf("length: %s\n", length_level_name(c.length));
    } else if (cmd == "/regen") {
      if (c.messages.empty() || c.messages.back().role != ChatRole::kChar)
        return make_error("nothing to regenerate: the last message is not %s's", effective_char_name(c));
      return generate([&](const TextCallback& cb) { return chat_.regenerate(cb); });
    } else if (cmd == "/undo") {
      if (!chat_.undo()) return make_error("nothing to undo");
      std::printf("(last exchange removed)\n");
      return autosave();
    } else if (cmd == "/edit") {
      if (arg.empty()) return make_error("usage: /edit TEXT");
      for (auto it = c.messages.rbegin(); it != c.messages.rend(); ++it)
        if (it->role == ChatRole::kChar) {
          it->text = arg;
          std::printf("(edited)\n");
          return autosave();
        }
      return make_error("{} has no message to edit", effective_char_name(c));
    } else if (cmd == "/save") {
      const std::string path = arg.empty() ? o_.save : arg;
      if (path.empty()) return make_error("usage: /save FILE");
      LIMARP_TRY(save_chat_file(path, c));
      std::printf("(saved %s)\n", path.c_str());
    } else if (cmd == "/load") {
      if (arg.empty()) return make_error("usage: /load FILE");
      LIMARP_ASSIGN_OR_RETURN(c, load_chat_file(arg));
      std::printf("(loaded %s: %zu messages)\n", arg.c_str(), c.messages.size());
    } else if (cmd == "/card") {
      if (!arg.empty()) {
        LIMARP_ASSIGN_OR_RETURN(CharacterCard card, load_character_card(arg));
        ChatState fresh = chat_from_card(card, {.user_name = c.user_name, .user_persona = c.user_persona, .length = c.length});
        c = std::move(fresh);
        std::printf("(card %s loaded; new chat)\n", card.name.c_str());
        for (const auto& m : c.messages) std::printf("%s: %s\n", effective_char_name(c).c_str(), m.text.c_str());
      } else {
        std::printf("%s\n\n%s\n", effective_char_name(c).c_str(), render_limarp_story(c).c_str());
      }
    } else {
      return make_error("unknown command {} (/help lists them)", cmd);
    }
    return {};
  }

  ChatSession& chat_;
  const ChatOptions& o_;
  std::shared_ptr<std::atomic<bool>> interrupted_;
  bool stdin_is_tty_ = ::isatty(0) != 0;
};

Status run_chat(const ChatOptions& o) {
  auto interrupted = watch_interrupts();  // before any thread exists, so all inherit the mask
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle, load_inference_model(o.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(std::unique_ptr<Backend> device, open_device(o.model, bundle.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(AdapterSet adapters, load_adapters(o.model.loras, bundle.model));
  ChatSettings settings;
  settings.context = o.ctx;
  settings.kv_type = o.model.kv_type;
  settings.backend = device.get();
  settings.backend_layers = o.model.gpu_layers;
  settings.max_reply_tokens = o.max_reply;
  settings.shift = o.no_shift ? ShiftPolicy::kNever : ShiftPolicy::kAllowed;
  settings.trim_unfinished_sentence = !o.no_trim;
  LIMARP_ASSIGN_OR_RETURN(settings.sampler, o.sampler.settings());
  LIMARP_ASSIGN_OR_RETURN(settings.sampler.grammar, o.grammar.load());

  ChatState chat;
  if (!o.load.empty()) {
    LIMARP_ASSIGN_OR_RETURN(chat, load_chat_file(o.load));
  }
  if (!o.card.empty()) {
    LIMARP_ASSIGN_OR_RETURN(CharacterCard card, load_character_card(o.card));
    if (o.load.empty()) chat = chat_from_card(card, {.user_name = o.user_name, .user_persona = o.user_persona});
    else merge_card_into_chat(card, chat);
  }
  auto set = [](std::string& field, const std::string& value) {
    if (!value.empty()) field = value;
  };
  set(chat.char_name, o.char_name);
  set(chat.char_persona, o.char_persona);
  set(chat.user_name, o.user_name);
  set(chat.user_persona, o.user_persona);
  set(chat.scenario, o.scenario);
  if (o.load.empty() || o.length != "medium") {
    LIMARP_ASSIGN_OR_RETURN(chat.length, parse_length_level(o.length));
  }

  ThreadPool pool(o.model.threads);
  LIMARP_ASSIGN_OR_RETURN(DraftSource drafts, load_draft_source(o.speculative, o.model, *bundle.tokenizer, pool));
  const std::unique_ptr<Drafter> drafter =
      drafts.make(o.ctx > 0 ? o.ctx : bundle.model.config().usable_context());
  settings.speculative = {drafter.get(), drafts.draft_n()};
  ChatSession session(bundle.model, *bundle.tokenizer, pool, settings, adapters.empty() ? nullptr : &adapters);
  session.chat() = std::move(chat);
  ChatRepl repl(session, o, interrupted);
  return repl.run();
}

}  // namespace

void register_chat(CLI::App& root, RunState& state) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd = root.add_subcommand("chat", "Roleplay chat in the terminal (LimaRP format, streaming replies)");
  add_model_options(*cmd, o->model, WhenNoModel::kDemoModel);
  cmd->add_option("--card", o->card, "SillyTavern character card (PNG or JSON)");
  cmd->add_option("--char", o->char_name, "Character name");
  cmd->add_option("--char-persona", o->char_persona, "Character persona");
  cmd->add_option("--user", o->user_name, "Your name");
  cmd->add_option("--user-persona", o->user_persona, "Your persona");
  cmd->add_option("--scenario", o->scenario, "Scenario");
  cmd->add_option("--length", o->length, "Reply length: tiny short medium long huge humongous extreme unlimited")
      ->capture_default_str();
  cmd->add_option("--load", o->load, "Start from a saved chat (CHAT.json)");
  cmd->add_option("--save", o->save, "Save the chat to this file after every turn (atomically)");
  cmd->add_option("-n,--max-reply", o->max_reply, "Reply length limit in tokens")->capture_default_str();
  cmd->add_option("-c,--ctx", o->ctx, "Context length (default: the model's)");
  cmd->add_flag("--no-context-shift", o->no_shift, "Re-evaluate instead of shifting the cache when old turns drop out");
  cmd->add_flag("--no-trim", o->no_trim, "Keep an unfinished last sentence when a reply hits the limit");
  cmd->add_flag("--show-words", o->show_words, "After each reply, print its word count and the length level asked for");
  o->sampler.add_to(*cmd);
  o->grammar.add_to(*cmd);
  add_speculative_options(*cmd, o->speculative);
  cmd->callback([o, &state] { state.exit_code = report(run_chat(*o)); });
}

}  // namespace limarp::cli
