// limarp: one native program for a LimaRP-style roleplay model: load, convert, quantize,
// generate, chat, serve, train and evaluate.
#include <cstdio>
#include <exception>

#include "base/log.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace limarp;
  CLI::App app{"limarp — load, convert, run, chat with, serve and train LimaRP-style Llama-2 roleplay models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "limarp 0.1.0");
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Print debug messages");
  app.add_flag("-q,--quiet", quiet, "Print only errors");
  app.parse_complete_callback([&] {
    if (verbose) log::set_level(log::Level::kDebug);
    if (quiet) log::set_level(log::Level::kError);
  });

  cli::RunState state;
  cli::register_init(app, state);
  cli::register_info(app, state);
  cli::register_convert(app, state);
  cli::register_generate(app, state);
  cli::register_tokenize(app, state);
  cli::register_detokenize(app, state);
  cli::register_bench(app, state);
  cli::register_quantize(app, state);
  cli::register_merge(app, state);
  cli::register_export_lora(app, state);
  cli::register_init_lora(app, state);
  cli::register_prompt(app, state);
  cli::register_chat(app, state);
  cli::register_serve(app, state);
  cli::register_perplexity(app, state);
  cli::register_eval_length(app, state);
  cli::register_train(app, state);
  cli::register_prepare(app, state);
  cli::register_pull(app, state);
  cli::register_devices(app, state);

  // The one place no exception may pass: a bug or an exhausted machine (std::bad_alloc) in
  // any command becomes a message and an exit status, never an abort with a core dump.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    const auto chosen = app.get_subcommands();
    std::fflush(stdout);
    std::fprintf(stderr, "limarp: internal error in %s: %s\n", chosen.empty() ? "limarp" : chosen[0]->get_name().c_str(),
                 e.what());
    return 70;  // EX_SOFTWARE
  }
  return state.exit_code;
}
