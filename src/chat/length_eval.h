// Measuring response-length control, as the LimaRP card does: for every length level, replies
// at the start of conversations (or deep into them), counted in words and tokens, with the
// share that impersonates the user (stopped by the "\n{user}:" guard) or hits the token limit.
// Reports as a Markdown table, an SVG box plot per level and JSON.
//
//   LIMARP_ASSIGN_OR_RETURN(auto chats, load_limarp_conversations("data/roleplay"));
//   LIMARP_ASSIGN_OR_RETURN(LengthEvalReport r, evaluate_length_control(model, tok, pool, nullptr, chats, {}));
//   std::cout << length_report_markdown(r);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "base/thread_pool.h"
#include "chat/chat_state.h"
#include "model/forward.h"
#include "sampling/sampler_settings.h"
#include "tokenizer/tokenizer.h"

namespace limarp {

enum class EvalDepth { kStart, kDeep };

struct LengthEvalOptions {
  int replies_per_level = 8;
  EvalDepth depth = EvalDepth::kStart;
  int64_t max_reply_tokens = 400;
  int64_t context = 0;  // 0: the model's
  DType kv_type = DType::kF16;
  Backend* backend = nullptr;  // where the model runs (null: the CPU)
  int64_t backend_layers = -1;
  SamplerSettings sampler;
  std::function<void(int done, int total)> progress;
};

struct LengthSample {
  LengthLevel level;
  size_t conversation;
  int64_t words, tokens;
  bool impersonated, hit_limit;
  std::string text;
};

struct LevelStats {
  LengthLevel level;
  int n = 0;
  double mean_words = 0, median_words = 0, p10_words = 0, p25_words = 0, p75_words = 0, p90_words = 0;
  double mean_tokens = 0, median_tokens = 0, p10_tokens = 0, p90_tokens = 0;
  double impersonation_share = 0, limit_share = 0;
};

struct LengthEvalReport {
  std::vector<LevelStats> levels;  // in level order
  std::vector<LengthSample> samples;
  double spearman = 0;             // rank correlation of level and mean words
  EvalDepth depth = EvalDepth::kStart;
};

Result<LengthEvalReport> evaluate_length_control(const LlamaModel& model, const Tokenizer& tok, ThreadPool& pool,
                                                 const LinearAdapter* adapter,
                                                 const std::vector<ChatState>& conversations,
                                                 const LengthEvalOptions& options);

// Statistics from samples (exposed for tests).
std::vector<LevelStats> length_stats(const std::vector<LengthSample>& samples);
double spearman_rho(const std::vector<double>& x, const std::vector<double>& y);

std::string length_report_markdown(const LengthEvalReport& report);
std::string length_report_svg(const LengthEvalReport& report, const std::string& title);
Json length_report_json(const LengthEvalReport& report);

}  // namespace limarp
