#include "hub/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace limarp::hub {
namespace {

constexpr size_t kMaxKeptBody = size_t{64} << 20;

struct Transfer {
  CURL* curl;
  HttpResponse* response;
  const BodySink* sink;
  const TransferProgress* progress;
  int64_t received = 0;
  bool sink_refused = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  // Each response of a redirect chain starts with its status line: keep only the last one's headers.
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();
    return line.size();
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  t->response->headers[name] = std::string(value);
  return line.size();
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->sink) {
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (!(*t->sink)(status, std::span<const char>(data, n))) {
      t->sink_refused = true;
      return 0;
    }
  } else {
    if (t->response->body.size() + n > kMaxKeptBody) return 0;
    t->response->body.append(data, n);
  }
  t->received += static_cast<int64_t>(n);
  if (t->progress && *t->progress) (*t->progress)(t->received);
  return n;
}

TransportFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_OK: return TransportFailure::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransportFailure::kUnreachable;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kInterrupted;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      return TransportFailure::kAborted;
    default: return TransportFailure::kOther;
  }
}

std::string encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Result<HttpClient> HttpClient::create() {
  auto handle = std::make_unique<Handle>();
  handle->curl = curl_easy_init();
  if (!handle->curl) return make_error("cannot initialise libcurl");
  return HttpClient(std::move(handle));
}

HttpClient::HttpClient(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

HttpResponse HttpClient::fetch(const HttpRequest& request) { return perform(request, nullptr, nullptr); }

HttpResponse HttpClient::stream(const HttpRequest& request, const BodySink& sink, const TransferProgress& progress) {
  return perform(request, sink, progress);
}

HttpResponse HttpClient::perform(const HttpRequest& request, const BodySink& sink, const TransferProgress& progress) {
  CURL* c = handle_->curl;
  curl_easy_reset(c);
  HttpResponse response;
  Transfer transfer{c, &response, sink ? &sink : nullptr, &progress};

  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());

  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "limarp/0.1.0");
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled transfer (under 1 KiB/s for 60 s) is an interruption, resumed by the caller.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  // API answers may come compressed; a streamed file must arrive as stored, or byte offsets
  // for resuming would not match the file.
  if (!sink) curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (request.redirects == Redirects::kFollow) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  }
  switch (request.method) {
    case HttpMethod::kHead: curl_easy_setopt(c, CURLOPT_NOBODY, 1L); break;
    case HttpMethod::kPost:
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      break;
    case HttpMethod::kGet: break;
  }

  const CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  if (char* url = nullptr; curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) response.url = url;
  response.failure = classify(code);
  if (code != CURLE_OK) {
    response.failure_message = transfer.sink_refused ? "the download was stopped" : curl_easy_strerror(code);
  }
  return response;
}

std::string url_encode_segment(std::string_view text) { return encode(text, false); }
std::string url_encode_path(std::string_view path) { return encode(path, true); }

}  // namespace limarp::hub
