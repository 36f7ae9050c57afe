#include "chat/length_eval.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/text_util.h"
#include "chat/chat_session.h"
#include "chat/limarp_prompt.h"

namespace limarp {
namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = (static_cast<double>(i + j) / 2.0) + 1.0;  // ties share a rank
    i = j + 1;
  }
  return r;
}

// The chat up to the reply being measured: at the start, the messages up to and including the
// first user message; deep, everything up to the last user message.
ChatState prompt_chat(const ChatState& conv, EvalDepth depth) {
  ChatState c = conv;
  c.messages.clear();
  if (depth == EvalDepth::kStart) {
    for (const auto& m : conv.messages) {
      c.messages.push_back(m);
      if (m.role == ChatRole::kUser) break;
    }
  } else {
    size_t last_user = 0;
    for (size_t i = 0; i < conv.messages.size(); ++i)
      if (conv.messages[i].role == ChatRole::kUser) last_user = i;
    c.messages.assign(conv.messages.begin(), conv.messages.begin() + static_cast<std::ptrdiff_t>(last_user) + 1);
  }
  return c;
}

}  // namespace

double spearman_rho(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return 0;
  const auto rx = ranks(x), ry = ranks(y);
  const double mx = mean(rx), my = mean(ry);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0;
}

std::vector<LevelStats> length_stats(const std::vector<LengthSample>& samples) {
  std::vector<LevelStats> out;
  for (LengthLevel level : kAllLengthLevels) {
    std::vector<double> words, tokens;
    LevelStats s;
    s.level = level;
    for (const auto& x : samples) {
      if (x.level != level) continue;
      words.push_back(static_cast<double>(x.words));
      tokens.push_back(static_cast<double>(x.tokens));
      s.impersonation_share += x.impersonated;
      s.limit_share += x.hit_limit;
    }
    s.n = static_cast<int>(words.size());
    if (s.n == 0) continue;
    s.impersonation_share /= s.n;
    s.limit_share /= s.n;
    s.mean_words = mean(words);
    s.median_words = quantile(words, 0.5);
    s.p10_words = quantile(words, 0.1);
    s.p25_words = quantile(words, 0.25);
    s.p75_words = quantile(words, 0.75);
    s.p90_words = quantile(words, 0.9);
    s.mean_tokens = mean(tokens);
    s.median_tokens = quantile(tokens, 0.5);
    s.p10_tokens = quantile(tokens, 0.1);
    s.p90_tokens = quantile(tokens, 0.9);
    out.push_back(s);
  }
  return out;
}

Result<LengthEvalReport> evaluate_length_control(const LlamaModel& model, const Tokenizer& tok, ThreadPool& pool,
                                                 const LinearAdapter* adapter,
                                                 const std::vector<ChatState>& conversations,
                                                 const LengthEvalOptions& o) {
  if (conversations.empty()) return make_error("length evaluation needs at least one conversation");
  ChatSettings settings;
  settings.context = o.context;
  settings.kv_type = o.kv_type;
  settings.backend = o.backend;
  settings.backend_layers = o.backend_layers;
  settings.max_reply_tokens = o.max_reply_tokens;
  settings.sampler = o.sampler;
  settings.trim_unfinished_sentence = false;  // measure what the model wrote
  ChatSession session(model, tok, pool, settings, adapter);
  LengthEvalReport report;
  report.depth = o.depth;
  const int total = static_cast<int>(kAllLengthLevels.size()) * o.replies_per_level;
  int done = 0;
  for (LengthLevel level : kAllLengthLevels) {
    for (int i = 0; i < o.replies_per_level; ++i) {
      const size_t conv = static_cast<size_t>(i) % conversations.size();
      session.chat() = prompt_chat(conversations[conv], o.depth);
      session.chat().length = level;
      LIMARP_ASSIGN_OR_RETURN(ChatReply r, session.reply(nullptr));
      const GenerationResult& g = r.generation;
      const std::string user = effective_user_name(session.chat());
      LengthSample s{level, conv, count_words(g.text), static_cast<int64_t>(g.tokens.size()),
                     g.reason == StopReason::kStopString && g.stop_string.starts_with("\n" + user),
                     g.reason == StopReason::kLength, g.text};
      report.samples.push_back(std::move(s));
      if (o.progress) o.progress(++done, total);
    }
  }
  report.levels = length_stats(report.samples);
  std::vector<double> level_index, means;
  for (const auto& l : report.levels) {
    level_index.push_back(static_cast<double>(l.level));
    means.push_back(l.mean_words);
  }
  report.spearman = spearman_rho(level_index, means);
  return report;
}

std::string length_report_markdown(const LengthEvalReport& r) {
  std::string out = fmt::format(
      "Replies {} of conversations; words and tokens per reply.\n\n"
      "| length | n | mean words | median | p10 | p90 | mean tokens | median | p10 | p90 | impersonates | hits limit |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
      r.depth == EvalDepth::kStart ? "at the start" : "deep into");
  for (const auto& l : r.levels)
    out += fmt::format("| {} | {} | {:.1f} | {:.0f} | {:.0f} | {:.0f} | {:.1f} | {:.0f} | {:.0f} | {:.0f} | {:.0f}% | {:.0f}% |\n",
                       length_level_name(l.level), l.n, l.mean_words, l.median_words, l.p10_words, l.p90_words,
                       l.mean_tokens, l.median_tokens, l.p10_tokens, l.p90_tokens, 100 * l.impersonation_share,
                       100 * l.limit_share);
  out += fmt::format("\nSpearman rank correlation of length level and mean words: {:.3f}\n", r.spearman);
  return out;
}

std::string length_report_svg(const LengthEvalReport& r, const std::string& title) {
  const double width = 760, height = 420, left = 60, right = 20, top = 40, bottom = 60;
  double ymax = 10;
  for (const auto& l : r.levels) ymax = std::max(ymax, l.p90_words);
  ymax = std::ceil(ymax * 1.1 / 10) * 10;
  const double slot = (width - left - right) / static_cast<double>(std::max<size_t>(1, r.levels.size()));
  auto y = [&](double v) { return top + (height - top - bottom) * (1 - v / ymax); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{3}</text>\n",
      width, height, width / 2, title);
  for (int i = 0; i <= 5; ++i) {  // grid and axis labels
    const double v = ymax * i / 5, yy = y(v);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, yy,
                       width - right, yy);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f}</text>\n", left - 6, yy + 4, v);
  }
  svg += fmt::format("<text x=\"16\" y=\"{:.0f}\" transform=\"rotate(-90 16 {:.0f})\" text-anchor=\"middle\">words "
                     "per reply</text>\n",
                     (top + height - bottom) / 2, (top + height - bottom) / 2);
  for (size_t i = 0; i < r.levels.size(); ++i) {
    const auto& l = r.levels[i];
    const double cx = left + slot * (static_cast<double>(i) + 0.5), bw = slot * 0.5;
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", cx,
                       y(l.p10_words), y(l.p90_words));
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#8ab4f8\" "
                       "stroke=\"#333\"/>\n",
                       cx - bw / 2, y(l.p75_words), bw, std::max(1.0, y(l.p25_words) - y(l.p75_words)));
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#c00\" "
                       "stroke-width=\"2\"/>\n",
                       cx - bw / 2, y(l.median_words), cx + bw / 2, y(l.median_words));
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#333\"/>\n", cx, y(l.mean_words));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>\n", cx, height - bottom + 18,
                       length_level_name(l.level));
  }
  svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\" fill=\"#555\">box: 25-75th percentile, "
                     "whiskers: 10-90th, red: median, dot: mean; Spearman rho {:.2f}</text>\n</svg>\n",
                     width / 2, height - 14, r.spearman);
  return svg;
}

Json length_report_json(const LengthEvalReport& r) {
  Json levels = Json::array();
  for (const auto& l : r.levels)
    levels.push_back({{"level", length_level_name(l.level)},
                      {"n", l.n},
                      {"mean_words", l.mean_words},
                      {"median_words", l.median_words},
                      {"p10_words", l.p10_words},
                      {"p90_words", l.p90_words},
                      {"mean_tokens", l.mean_tokens},
                      {"median_tokens", l.median_tokens},
                      {"p10_tokens", l.p10_tokens},
                      {"p90_tokens", l.p90_tokens},
                      {"impersonation_share", l.impersonation_share},
                      {"limit_share", l.limit_share}});
  return {{"levels", levels}, {"spearman", r.spearman}, {"depth", r.depth == EvalDepth::kStart ? "start" : "deep"}};
}

}  // namespace limarp
