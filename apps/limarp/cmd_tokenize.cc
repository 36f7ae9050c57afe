// `limarp tokenize` and `limarp detokenize`: text to ids and back with any tokenizer file
// (tokenizer.model, tokenizer.json or its folder, llama2.c .bin, a GGUF with a vocabulary) or
// the tokenizer that belongs to a model (inside its GGUF, or beside a llama2.c checkpoint).
//
//   limarp tokenize --model tokenizer.model --text "Hello world" --json   → ... [1,15043,3186]
//   limarp tokenize --model model.gguf --file prompt.txt --pieces
//   limarp detokenize --model tokenizer.model --ids 1,15043,3186          → Hello world
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "commands.h"
#include "hub/hub_pull.h"
#include "formats/llama2c.h"
#include "infer/model_bundle.h"

namespace limarp::cli {
namespace {

namespace fs = std::filesystem;

// A tokenizer file is read directly; a model file yields the tokenizer that goes with it.
Result<Tokenizer> open_tokenizer(const std::string& name) {
  LIMARP_ASSIGN_OR_RETURN(const std::string path, hub::resolve_model_path(name));
  std::error_code ec;
  bool checkpoint = false;  // a llama2.c checkpoint could be misread as a llama2.c tokenizer
  if (fs::is_regular_file(path, ec)) {
    LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
    checkpoint = looks_like_llama2c(file.bytes());
  }
  Result<Tokenizer> direct = checkpoint ? Result<Tokenizer>(make_error("{}: a llama2.c checkpoint", path))
                                        : Tokenizer::load(path);
  if (direct.ok()) return direct;
  auto model = LlamaModel::load(path);
  if (!model.ok())
    return make_error("{} is neither a tokenizer ({}) nor a model ({})", path, direct.error().message(),
                      model.error().message());
  return find_tokenizer(path, *model, "");
}

// A piece for display: JSON-quoted, so spaces, newlines and control bytes stay visible.
std::string quoted(const std::string& piece) {
  return Json(piece).dump(-1, ' ', false, Json::error_handler_t::replace);
}

struct TokenizeCliOptions {
  std::string model, text, file;
  bool no_bos = false, json = false, pieces = false, parse_special = false;
};

Status run_tokenize(const TokenizeCliOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(Tokenizer tok, open_tokenizer(o.model));
  std::string text = o.text;
  if (!o.file.empty()) {
    LIMARP_ASSIGN_OR_RETURN(text, read_text_file(o.file));
  }
  const std::vector<int32_t> ids =
      tok.encode(text, {.add_bos = tok.vocab().add_bos && !o.no_bos, .add_eos = tok.vocab().add_eos,
                        .parse_special = o.parse_special});
  if (o.pieces) {
    for (int32_t id : ids) std::printf("%d\t%s\n", id, quoted(tok.piece(id)).c_str());
  } else if (!o.json) {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) line += ' ';
      line += std::to_string(ids[i]);
    }
    std::printf("%s\n", line.c_str());
  }
  if (o.json) std::printf("%s\n", Json(ids).dump().c_str());
  return {};
}

// "1,2,3", "1 2 3" or "[1, 2, 3]".
Result<std::vector<int32_t>> parse_ids(const std::string& s, int32_t n_vocab) {
  std::vector<int32_t> ids;
  size_t i = 0;
  auto separator = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '[' || c == ']'; };
  while (i < s.size()) {
    if (separator(s[i])) {
      ++i;
      continue;
    }
    int64_t v = 0;
    const auto [end, err] = std::from_chars(s.data() + i, s.data() + s.size(), v);
    if (err != std::errc() || (end != s.data() + s.size() && !separator(*end)))
      return make_error("--ids: {:?} is not a list of token ids (expected e.g. 1,15043,3186)", s);
    if (v < 0 || v >= n_vocab) return make_error("--ids: id {} is outside the vocabulary of {} tokens", v, n_vocab);
    ids.push_back(static_cast<int32_t>(v));
    i = static_cast<size_t>(end - s.data());
  }
  return ids;
}

struct DetokenizeCliOptions {
  std::string model, ids;
};

Status run_detokenize(const DetokenizeCliOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(Tokenizer tok, open_tokenizer(o.model));
  LIMARP_ASSIGN_OR_RETURN(std::vector<int32_t> ids, parse_ids(o.ids, tok.n_vocab()));
  const std::string text = tok.decode(ids);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  return {};
}

}  // namespace

void register_tokenize(CLI::App& root, RunState& state) {
  auto o = std::make_shared<TokenizeCliOptions>();
  CLI::App* cmd = root.add_subcommand("tokenize", "Turn text into token ids");
  cmd->add_option("-m,--model", o->model, "Tokenizer file or folder, or a model whose tokenizer to use")->required();
  auto* text = cmd->add_option("--text", o->text, "Text to tokenize");
  auto* file = cmd->add_option("--file", o->file, "File whose contents to tokenize");
  text->excludes(file);
  file->excludes(text);
  cmd->add_flag("--no-bos", o->no_bos, "Do not start with BOS");
  cmd->add_flag("--parse-special", o->parse_special, "Read control-token text (<s>, </s>) as those tokens");
  cmd->add_flag("--pieces", o->pieces, "Print one token per line: id and piece");
  cmd->add_flag("--json", o->json, "End with one JSON line: the array of ids");
  cmd->callback([o, cmd, &state] {
    if (cmd->count("--text") + cmd->count("--file") != 1) {
      state.exit_code = report(make_error("tokenize: give the text with --text TEXT or --file PATH"));
      return;
    }
    state.exit_code = report(run_tokenize(*o));
  });
}

void register_detokenize(CLI::App& root, RunState& state) {
  auto o = std::make_shared<DetokenizeCliOptions>();
  CLI::App* cmd = root.add_subcommand("detokenize", "Turn token ids into text");
  cmd->add_option("-m,--model", o->model, "Tokenizer file or folder, or a model whose tokenizer to use")->required();
  cmd->add_option("--ids", o->ids, "Token ids: 1,15043,3186")->required();
  cmd->callback([o, &state] { state.exit_code = report(run_detokenize(*o)); });
}

}  // namespace limarp::cli
