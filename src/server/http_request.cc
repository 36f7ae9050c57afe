#include "server/http_request.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/utf8_escape.h"

namespace limarp::server {
namespace {

constexpr size_t kMaxMethod = 16;
constexpr size_t kMaxTarget = 8192;

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Where the blank line that ends the head finishes (index after it), or npos.
size_t find_head_end(std::string_view s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    if (s[i] != '\n') continue;
    if (i + 1 < s.size() && s[i + 1] == '\n') return i + 2;
    if (i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

bool HttpRequest::has_header(std::string_view lower_name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == lower_name; });
}

bool HttpRequest::keep_alive() const {
  const std::string connection = ascii_lower(header("connection"));
  if (version_minor == 0) return connection.find("keep-alive") != std::string::npos;
  return connection.find("close") == std::string::npos;
}

void HttpRequestParser::fail(int status, std::string message) {
  state_ = HttpParseState::kError;
  error_ = {status, escape_invalid_utf8(std::move(message))};
}

size_t HttpRequestParser::feed(std::string_view data) {
  if (state_ != HttpParseState::kNeedMore) return 0;
  size_t used = 0;
  if (!headers_done_) {
    // Empty lines before a request line are allowed (RFC 9112 §2.2); they count toward the limit.
    while (head_.empty() && used < data.size() && (data[used] == '\r' || data[used] == '\n')) {
      ++used;
      if (++skipped_ > limits_.max_header_bytes) {
        fail(400, "request: only empty lines");
        return used;
      }
    }
    const size_t before = head_.size();
    head_.append(data.substr(used));
    const size_t end = find_head_end(head_, before >= 2 ? before - 2 : 0);
    if (end == std::string::npos) {
      used = data.size();
      if (head_.size() > limits_.max_header_bytes)
        fail(431, fmt::format("request headers exceed {} bytes", limits_.max_header_bytes));
      return used;
    }
    if (end > limits_.max_header_bytes) {
      fail(431, fmt::format("request headers exceed {} bytes", limits_.max_header_bytes));
      return data.size();
    }
    used += end - before;
    head_.resize(end);
    if (!parse_head(head_) || !finish_headers()) return used;
    headers_done_ = true;
  }
  const size_t need = content_length_ - request_.body.size();
  const size_t take_n = std::min(need, data.size() - used);
  request_.body.append(data.substr(used, take_n));
  used += take_n;
  if (request_.body.size() == content_length_) state_ = HttpParseState::kComplete;
  return used;
}

bool HttpRequestParser::parse_head(std::string_view head) {
  bool first = true;
  while (!head.empty()) {
    const size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line that ends the head
    if (first) {
      if (!parse_request_line(line)) return false;
      first = false;
    } else if (!parse_header_line(line)) {
      return false;
    }
  }
  if (first) {
    fail(400, "request: missing request line");
    return false;
  }
  return true;
}

bool HttpRequestParser::parse_request_line(std::string_view line) {
  const size_t s1 = line.find(' ');
  const size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos || line.find(' ', s2 + 1) != std::string_view::npos) {
    fail(400, "request line must be METHOD SP TARGET SP HTTP/1.x");
    return false;
  }
  const std::string_view method = line.substr(0, s1), target = line.substr(s1 + 1, s2 - s1 - 1),
                         version = line.substr(s2 + 1);
  if (method.empty() || method.size() > kMaxMethod || !std::all_of(method.begin(), method.end(), is_tchar)) {
    fail(400, "request line: invalid method");
    return false;
  }
  if (target.empty() || target.size() > kMaxTarget || (target.front() != '/' && target != "*") ||
      std::any_of(target.begin(), target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u >= 0x7f;
      })) {
    fail(400, "request line: the target must be a path starting with '/' (printable ASCII, at most 8192 bytes)");
    return false;
  }
  if (version == "HTTP/1.1") {
    request_.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    request_.version_minor = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.') {
    fail(505, fmt::format("HTTP version {} is not supported; use HTTP/1.1", version));
    return false;
  } else {
    fail(400, "request line: expected HTTP/1.1");
    return false;
  }
  request_.method = std::string(method);
  request_.target = std::string(target);
  const size_t q = target.find('?');
  request_.path = std::string(target.substr(0, q));
  request_.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  return true;
}

bool HttpRequestParser::parse_header_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    fail(400, "obsolete line folding in headers is not accepted");
    return false;
  }
  const size_t colon = line.find(':');
  const std::string_view name = line.substr(0, colon);
  if (colon == std::string_view::npos || name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
    fail(400, "malformed header line (expected Name: value)");
    return false;
  }
  const std::string_view value = trim_ows(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), [](char c) { return c != '\t' && is_ctl(static_cast<unsigned char>(c)); })) {
    fail(400, fmt::format("header {}: control characters in the value", name));
    return false;
  }
  if (request_.headers.size() >= limits_.max_headers) {
    fail(431, fmt::format("more than {} request headers", limits_.max_headers));
    return false;
  }
  request_.headers.emplace_back(ascii_lower(name), std::string(value));
  return true;
}

bool HttpRequestParser::finish_headers() {
  const auto hosts = std::count_if(request_.headers.begin(), request_.headers.end(),
                                   [](const auto& h) { return h.first == "host"; });
  if (request_.version_minor == 1 && hosts == 0) {
    fail(400, "HTTP/1.1 request without a Host header");
    return false;
  }
  if (hosts > 1) {
    // Two Hosts let a proxy and this server disagree about the target (RFC 9112 §3.2).
    fail(400, "more than one Host header");
    return false;
  }
  if (request_.has_header("transfer-encoding")) {
    fail(411, "Transfer-Encoding request bodies are not supported; send Content-Length");
    return false;
  }
  bool have_length = false;
  for (const auto& [k, v] : request_.headers) {
    if (k != "content-length") continue;
    if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      fail(400, fmt::format("Content-Length must be a decimal number, got {:?}", v));
      return false;
    }
    const size_t n = std::stoull(v);
    if (have_length && n != content_length_) {
      fail(400, "conflicting Content-Length headers");
      return false;
    }
    have_length = true;
    content_length_ = n;
  }
  if (content_length_ > limits_.max_body_bytes) {
    fail(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes", content_length_,
                          limits_.max_body_bytes));
    return false;
  }
  expect_continue_ = ascii_lower(request_.header("expect")) == "100-continue" && content_length_ > 0;
  request_.body.reserve(content_length_);
  return true;
}

HttpRequest HttpRequestParser::take() {
  HttpRequest out = std::move(request_);
  *this = HttpRequestParser(limits_);
  return out;
}

}  // namespace limarp::server
