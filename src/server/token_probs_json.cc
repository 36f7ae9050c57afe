#include "server/token_probs_json.h"

#include <cmath>

namespace limarp::server {
namespace {

double finite_logprob(double logprob) { return std::isfinite(logprob) ? logprob : -9999.0; }

Json byte_list(const std::string& text) {
  Json out = Json::array();
  for (const char ch : text) out.push_back(static_cast<unsigned char>(ch));
  return out;
}

// Characters, counting UTF-8 lead bytes (a stray continuation byte counts as one, as the
// replacement character it becomes).
int64_t char_count(const std::string& text) {
  int64_t n = 0;
  for (const char ch : text) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

Json chat_entry(const TokenLogprob& t, const Tokenizer& tok) {
  const std::string text = tok.token_bytes(t.id);
  return {{"token", text}, {"logprob", finite_logprob(t.logprob)}, {"bytes", byte_list(text)}};
}

}  // namespace

Json llamacpp_probs_json(const std::vector<TokenProbs>& probs, const Tokenizer& tok) {
  Json out = Json::array();
  for (const TokenProbs& p : probs) {
    Json top = Json::array();
    for (const TokenLogprob& t : p.top)
      top.push_back({{"id", t.id}, {"tok_str", tok.token_bytes(t.id)}, {"prob", std::exp(t.logprob)}});
    out.push_back({{"id", p.chosen.id}, {"content", tok.token_bytes(p.chosen.id)}, {"prob", std::exp(p.chosen.logprob)},
                   {"probs", std::move(top)}});
  }
  return out;
}

Json openai_completion_logprobs_json(const std::vector<TokenProbs>& probs, const Tokenizer& tok, int64_t& offset) {
  Json tokens = Json::array(), logprobs = Json::array(), tops = Json::array(), offsets = Json::array();
  for (const TokenProbs& p : probs) {
    const std::string text = tok.token_bytes(p.chosen.id);
    tokens.push_back(text);
    logprobs.push_back(finite_logprob(p.chosen.logprob));
    Json top = Json::object();
    for (const TokenLogprob& t : p.top) {
      const std::string alt = tok.token_bytes(t.id);
      if (!top.contains(alt)) top[alt] = t.logprob;  // two ids with one text: the likelier
    }
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += char_count(text);
  }
  return {{"tokens", tokens}, {"token_logprobs", logprobs}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

Json openai_chat_logprobs_json(const std::vector<TokenProbs>& probs, const Tokenizer& tok) {
  Json content = Json::array();
  for (const TokenProbs& p : probs) {
    Json entry = chat_entry(p.chosen, tok);
    Json top = Json::array();
    for (const TokenLogprob& t : p.top) top.push_back(chat_entry(t, tok));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return {{"content", std::move(content)}};
}

}  // namespace limarp::server
