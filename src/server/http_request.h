// HTTP/1.1 requests as the server reads them off a socket: an incremental parser with hard
// limits, so a hostile or broken client gets a precise 4xx (or 5xx) instead of a crash, a
// hang or an unbounded allocation.
//
//   HttpRequestParser parser(limits);
//   size_t used = parser.feed(bytes);              // any split of the byte stream works
//   if (parser.state() == HttpParseState::kComplete) handle(parser.take());
//   if (parser.state() == HttpParseState::kError) reply(parser.error().status, ...);
//
// What is accepted: origin-form targets ("/path?query"), HTTP/1.0 and 1.1, CRLF or bare LF line
// ends, bodies framed by Content-Length. Refused, each with its status: header block over the
// limit (431), too many headers (431), a malformed request line or header (400), an obsolete
// folded header line (400), conflicting or non-numeric Content-Length (400), a body over the
// limit (413), Transfer-Encoding on a request (411: send Content-Length; no client of ours
// needs chunked uploads), another HTTP version (505), HTTP/1.1 without Host or with more than
// one Host (400, RFC 9112 §3.2). Error messages quote what was sent with invalid UTF-8 escaped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace limarp::server {

// ASCII lower case, for header names and host names (which compare case-insensitively).
std::string ascii_lower(std::string_view s);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/api/v1/generate?x=1"
  std::string path;    // "/api/v1/generate"
  std::string query;   // "x=1" (not decoded)
  int version_minor = 1;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;

  // The first header with this (lower-case) name, or "" when absent.
  std::string_view header(std::string_view lower_name) const;
  bool has_header(std::string_view lower_name) const;
  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive() const;
};

struct HttpLimits {
  size_t max_header_bytes = 16 << 10;  // request line and headers together
  size_t max_headers = 100;
  size_t max_body_bytes = 8 << 20;
};

struct HttpError {
  int status = 400;
  std::string message;
};

enum class HttpParseState { kNeedMore, kComplete, kError };

class HttpRequestParser {
 public:
  explicit HttpRequestParser(HttpLimits limits = {}) : limits_(limits) {}

  // Consumes bytes; returns how many were used. Bytes after a complete request are left for
  // the next one (pipelining): feed them again after take().
  size_t feed(std::string_view data);
  HttpParseState state() const { return state_; }
  const HttpError& error() const { return error_; }
  // The headers are in and the client asked "Expect: 100-continue" before sending its body:
  // the connection should answer "100 Continue" (once; see continue_sent()).
  bool wants_continue() const { return headers_done_ && expect_continue_ && !continue_sent_ && state_ == HttpParseState::kNeedMore; }
  void continue_sent() { continue_sent_ = true; }
  // Bytes of a request seen so far (0 between requests: an idle keep-alive connection).
  bool in_progress() const { return !head_.empty() || headers_done_; }
  // The head is in; the body (if any) is still arriving.
  bool headers_done() const { return headers_done_; }
  size_t body_received() const { return request_.body.size(); }
  // The complete request; the parser is ready for the next one.
  HttpRequest take();

 private:
  void fail(int status, std::string message);
  bool parse_head(std::string_view head);
  bool parse_request_line(std::string_view line);
  bool parse_header_line(std::string_view line);
  bool finish_headers();

  HttpLimits limits_;
  HttpParseState state_ = HttpParseState::kNeedMore;
  HttpError error_;
  std::string head_;  // bytes of the request line and headers so far
  size_t skipped_ = 0;  // empty lines before the request line
  bool headers_done_ = false;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  size_t content_length_ = 0;
  HttpRequest request_;
};

}  // namespace limarp::server
