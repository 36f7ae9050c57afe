#include "server/native_api.h"

#include "chat/character_card.h"
#include "chat/chat_file.h"
#include "server/chat_job.h"
#include "server/job_runner.h"
#include "server/request_fields.h"

namespace limarp::server {
namespace {

Json result_json(const JobResult& r, const ChatJob& job) {
  const GenerationResult& g = r.generation;
  const bool timed_out = r.timed_out;
  return {{"text", g.text},
          {"finish_reason", finish_reason(r)},
          {"stop_reason", timed_out ? "time" : stop_reason_name(g.reason)},
          {"stopping_word", g.stop_string},
          {"usage", {{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", g.tokens.size()}}},
          {"prompt",
           {{"tokens", r.prompt_tokens},
            {"reused", g.prompt.reused},
            {"evaluated", g.prompt.evaluated},
            {"shifted_out", g.prompt.shifted_out},
            {"dropped_messages", job.dropped_messages}}},
          {"timings",
           {{"queued_ms", r.queued_ms},
            {"prompt_ms", g.prompt_ms},
            {"first_token_ms", r.first_token_ms},
            {"generation_ms", g.generation_ms}}},
          {"slot", r.slot}};
}

class NativeFormat final : public ResponseFormat {
 public:
  explicit NativeFormat(const ChatJob& job) : job_(job) {}
  std::string stream_piece(const StreamPiece& piece) override { return sse_event({{"text", piece.text}}); }
  std::string stream_end(const JobResult& r) override {
    Json j = result_json(r, job_);
    j["done"] = true;
    return sse_event(j);
  }
  Json body(const JobResult& r) override { return result_json(r, job_); }

 private:
  const ChatJob& job_;
};

struct NativeChat {
  ChatState chat;
  PromptTail tail = PromptTail::kOpenResponse;
};

Result<NativeChat> read_chat(const Json& body) {
  NativeChat out;
  LIMARP_ASSIGN_OR_RETURN(out.chat, chat_from_json(body, "request"));
  bool cont = false;
  LIMARP_TRY(RequestFields(body).boolean({"continue"}, cont));
  if (cont) out.tail = PromptTail::kContinueLast;
  return out;
}

// A native request's body and its job; an error is the 400 to answer.
struct NativeRequest {
  Json body;
  ChatJob job;
};

Result<NativeRequest> read_native_request(const ServerContext& ctx, const HttpRequest& req) {
  LIMARP_ASSIGN_OR_RETURN(Json body, parse_body_object(req.body, req.path, ctx.json_limits));
  LIMARP_ASSIGN_OR_RETURN(NativeChat chat, read_chat(body));
  LIMARP_ASSIGN_OR_RETURN(ChatJob job, build_chat_job(chat.chat, chat.tail, body, ctx, Dialect::kNative));
  return NativeRequest{std::move(body), std::move(job)};
}

void chat(const ServerContext& ctx, const HttpRequest& req, HttpExchange& ex) {
  auto fail = [&](const Error& e) { ex.respond(error_response({400, e.message()})); };
  auto r = read_native_request(ctx, req);
  if (!r.ok()) return fail(r.error());
  bool stream = false;
  if (Status s = RequestFields(r->body).boolean({"stream"}, stream); !s.ok()) return fail(s.error());
  NativeFormat format(r->job);
  run_job(ctx, r->job.spec, stream ? Streaming::kYes : Streaming::kNo, format, ex);
}

void prompt(const ServerContext& ctx, const HttpRequest& req, HttpExchange& ex) {
  auto r = read_native_request(ctx, req);
  if (!r.ok()) return ex.respond(error_response({400, r.error().message()}));
  const ChatJob* job = &r->job;
  const std::vector<int32_t>& ids = job->spec.request.prompt;
  ex.respond(json_response({{"prompt", ctx.tokenizer->decode(ids)},
                            {"tokens", ids.size()},
                            {"ids", ids},
                            {"stop", job->spec.request.stop},
                            {"dropped_messages", job->dropped_messages}}));
}

void card(const ServerContext&, const HttpRequest& req, HttpExchange& ex) {
  const auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(req.body.data()), req.body.size());
  const bool png = req.body.size() >= 8 && req.body.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
  auto card = png ? read_character_card_png(bytes, "card") : parse_character_card_text(req.body, "card");
  if (!card.ok()) return ex.respond(error_response({400, card.error().message()}));
  // "{{user}}" as the user's name keeps the macro, so the page's name fills it in later.
  CardChatOptions options;
  options.user_name = "{{user}}";
  ChatState chat = chat_from_card(*card, options);
  chat.user_name.clear();
  auto chat_json = parse_json(chat_to_json_text(chat), "card");
  if (!chat_json.ok()) return ex.respond(error_response({500, chat_json.error().message()}));
  ex.respond(json_response({{"card",
                             {{"spec", card_spec_name(card->spec)},
                              {"name", card->name},
                              {"description", card->description},
                              {"personality", card->personality},
                              {"scenario", card->scenario},
                              {"first_mes", card->first_mes},
                              {"mes_example", card->mes_example},
                              {"alternate_greetings", card->alternate_greetings},
                              {"creator_notes", card->creator_notes}}},
                            {"chat", *chat_json}}));
}

}  // namespace

void add_native_routes(Router& router, const ServerContext& ctx) {
  const ServerContext* c = &ctx;
  router.add("POST", "/api/limarp/chat", [c](const HttpRequest& req, HttpExchange& ex) { chat(*c, req, ex); });
  router.add("POST", "/api/limarp/prompt", [c](const HttpRequest& req, HttpExchange& ex) { prompt(*c, req, ex); });
  router.add("POST", "/api/limarp/card", [c](const HttpRequest& req, HttpExchange& ex) { card(*c, req, ex); });
}

}  // namespace limarp::server
