#include "server/tabby_api.h"

#include "server/api_response.h"
#include "server/request_fields.h"

namespace limarp::server {
namespace {

Json tabby_model_card(const ServerContext& c) {
  return {{"id", c.model_name},
          {"object", "model"},
          {"created", c.created},
          {"owned_by", "limarp"},
          {"parameters", {{"max_seq_len", c.scheduler->context()}}}};
}

// A list of token ids, each in the vocabulary; the error names the offending item.
Result<std::vector<int32_t>> read_token_list(const Json* tokens, const Tokenizer& tok) {
  if (!tokens) return make_error("tokens is required");
  if (!tokens->is_array()) return make_error("tokens must be an array of token ids, got {}", json_brief(*tokens));
  std::vector<int32_t> ids;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const Json& t = (*tokens)[i];
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok.n_vocab())
      return make_error("tokens[{}] must be a token id in [0, {}), got {}", i, tok.n_vocab(), json_brief(t));
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return ids;
}

}  // namespace

void add_tabby_routes(Router& router, const ServerContext& ctx) {
  const ServerContext* c = &ctx;
  router.add("GET", "/v1/model/list", [c](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response({{"object", "list"}, {"data", Json::array({tabby_model_card(*c)})}}));
  });
  router.add("GET", "/v1/model", [c](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response(tabby_model_card(*c)));
  });
  router.add("POST", "/v1/token/encode", [c](const HttpRequest& req, HttpExchange& ex) {
    auto body = parse_body_object(req.body, req.path, c->json_limits);
    if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
    RequestFields f(*body);
    std::string text;
    bool add_bos = true;  // TabbyAPI's default
    if (Status s = f.string({"text"}, text); !s.ok()) return ex.respond(error_response({400, s.error().message()}));
    if (Status s = f.boolean({"add_bos_token"}, add_bos); !s.ok())
      return ex.respond(error_response({400, s.error().message()}));
    const std::vector<int32_t> ids = c->tokenizer->encode(text, add_bos ? EncodeOptions{} : without_bos());
    ex.respond(json_response({{"tokens", ids}, {"length", ids.size()}}));
  });
  router.add("POST", "/v1/token/decode", [c](const HttpRequest& req, HttpExchange& ex) {
    auto body = parse_body_object(req.body, req.path, c->json_limits);
    if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
    auto ids = read_token_list(RequestFields(*body).find({"tokens"}), *c->tokenizer);
    if (!ids.ok()) return ex.respond(error_response({400, ids.error().message()}));
    ex.respond(json_response({{"text", c->tokenizer->decode(*ids)}}));
  });
}

}  // namespace limarp::server
