// HTTP for the Hub over libcurl (TLS, proxies from the environment, redirects, ranges): limarp
// never speaks HTTP to the outside world through hand-written code. One client holds one curl
// handle, so consecutive requests to the same host reuse the connection.
//
//   LIMARP_ASSIGN_OR_RETURN(HttpClient http, HttpClient::create());
//   HttpResponse r = http.fetch(HttpRequest(url, HttpMethod::kHead));
//   if (r.failure != TransportFailure::kNone) ...   // no answer at all
//   else if (r.status == 404) ...
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace limarp::hub {

enum class HttpMethod { kGet, kHead, kPost };
enum class Redirects { kFollow, kKeep };

// Why no complete answer came back; callers fall back to the cache on kUnreachable.
enum class TransportFailure { kNone, kUnreachable, kInterrupted, kAborted, kOther };

struct HttpRequest {
  explicit HttpRequest(std::string u, HttpMethod m = HttpMethod::kGet, Redirects r = Redirects::kFollow)
      : url(std::move(u)), method(m), redirects(r) {}
  std::string url;
  HttpMethod method = HttpMethod::kGet;
  Redirects redirects = Redirects::kFollow;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent with kPost
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the last response; names lower-cased
  std::string body;                            // fetch() only
  std::string url;                             // after redirects
  TransportFailure failure = TransportFailure::kNone;
  std::string failure_message;                 // curl's explanation when failure != kNone

  std::string header(const std::string& lower_name) const;
};

// Receives the body of a streamed response with its HTTP status (a resumed download must know
// whether the server honoured its range before writing); returning false aborts the transfer.
using BodySink = std::function<bool(long status, std::span<const char> chunk)>;
// Bytes of the body received so far in this transfer.
using TransferProgress = std::function<void(int64_t received)>;

class HttpClient {
 public:
  static Result<HttpClient> create();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient();

  // Small answers (API JSON, HEAD): the body is kept, up to 64 MiB.
  HttpResponse fetch(const HttpRequest& request);
  // Large answers: the body goes to `sink` as it arrives.
  HttpResponse stream(const HttpRequest& request, const BodySink& sink, const TransferProgress& progress);

 private:
  struct Handle;
  explicit HttpClient(std::unique_ptr<Handle> handle);
  HttpResponse perform(const HttpRequest& request, const BodySink& sink, const TransferProgress& progress);
  std::unique_ptr<Handle> handle_;
};

// Percent-encodes one path segment (revisions like "refs/pr/1" become one segment).
std::string url_encode_segment(std::string_view text);
// Percent-encodes a file path, keeping its '/' separators.
std::string url_encode_path(std::string_view path);

}  // namespace limarp::hub
