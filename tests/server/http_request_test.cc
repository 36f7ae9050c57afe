// The HTTP request parser: well-formed requests in any split, pipelining, and every refusal
// with its status. Malformed and fuzzed inputs must end in a verdict (complete or an error),
// never a crash or an unbounded buffer; these tests run under ASan + UBSan.
#include <gtest/gtest.h>

#include "base/rng.h"
#include "server/http_request.h"

namespace limarp::server {
namespace {

struct Parsed {
  HttpParseState state;
  HttpRequest request;
  HttpError error;
  size_t used = 0;
};

Parsed parse(std::string_view bytes, HttpLimits limits = {}) {
  HttpRequestParser p(limits);
  Parsed out;
  out.used = p.feed(bytes);
  out.state = p.state();
  if (out.state == HttpParseState::kComplete) out.request = p.take();
  if (out.state == HttpParseState::kError) out.error = p.error();
  return out;
}

const std::string kPost =
    "POST /api/v1/generate?x=1 HTTP/1.1\r\nHost: localhost:5001\r\nContent-Type: application/json\r\n"
    "Content-Length: 16\r\nX-Odd:   spaced value \t\r\n\r\n{\"prompt\":\"Hi\"}\n";

TEST(HttpRequestParser, ParsesAPostWithBody) {
  const Parsed p = parse(kPost);
  ASSERT_EQ(p.state, HttpParseState::kComplete);
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.path, "/api/v1/generate");
  EXPECT_EQ(p.request.query, "x=1");
  EXPECT_EQ(p.request.header("content-type"), "application/json");
  EXPECT_EQ(p.request.header("x-odd"), "spaced value");
  EXPECT_EQ(p.request.body, "{\"prompt\":\"Hi\"}\n");
  EXPECT_TRUE(p.request.keep_alive());
  EXPECT_EQ(p.used, kPost.size());
}

TEST(HttpRequestParser, AnySplitOfTheBytesGivesTheSameRequest) {
  for (size_t cut = 0; cut <= kPost.size(); ++cut) {
    HttpRequestParser p;
    size_t used = p.feed(std::string_view(kPost).substr(0, cut));
    ASSERT_EQ(used, cut) << cut;
    used += p.feed(std::string_view(kPost).substr(cut));
    ASSERT_EQ(p.state(), HttpParseState::kComplete) << "cut at " << cut;
    EXPECT_EQ(p.take().body, "{\"prompt\":\"Hi\"}\n");
  }
  // Byte by byte.
  HttpRequestParser p;
  for (char c : kPost) p.feed(std::string_view(&c, 1));
  EXPECT_EQ(p.state(), HttpParseState::kComplete);
}

TEST(HttpRequestParser, PipelinedRequestsAreLeftForTheNextParse) {
  const std::string two = "GET /health HTTP/1.1\r\nHost: a\r\n\r\n" + kPost;
  HttpRequestParser p;
  size_t used = p.feed(two);
  ASSERT_EQ(p.state(), HttpParseState::kComplete);
  EXPECT_EQ(p.take().path, "/health");
  used += p.feed(std::string_view(two).substr(used));
  ASSERT_EQ(p.state(), HttpParseState::kComplete);
  EXPECT_EQ(p.take().path, "/api/v1/generate");
  EXPECT_EQ(used, two.size());
}

TEST(HttpRequestParser, BareLineFeedsAndLeadingEmptyLinesAreAccepted) {
  const Parsed p = parse("\r\n\nGET / HTTP/1.0\nConnection: keep-alive\n\n");
  ASSERT_EQ(p.state, HttpParseState::kComplete);
  EXPECT_EQ(p.request.version_minor, 0);
  EXPECT_TRUE(p.request.keep_alive());
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive());
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").request.keep_alive());
}

TEST(HttpRequestParser, ExpectContinueIsReportedBeforeTheBody) {
  HttpRequestParser p;
  p.feed("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_TRUE(p.wants_continue());
  p.continue_sent();
  EXPECT_FALSE(p.wants_continue());
  p.feed("{}");
  EXPECT_EQ(p.state(), HttpParseState::kComplete);
}

struct Refusal {
  std::string bytes;
  int status;
  std::string message_part;
};

TEST(HttpRequestParserMalformed, EachRefusalHasItsStatus) {
  HttpLimits small;
  small.max_header_bytes = 256;
  small.max_headers = 4;
  small.max_body_bytes = 100;
  const std::vector<Refusal> cases = {
      {"GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'a') + "\r\n\r\n", 431, "exceed"},
      {"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, "more than 4"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", 413, "exceeds the limit"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "decimal"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "decimal"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", 400, "decimal"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 400, "conflicting"},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "Content-Length"},
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "not supported"},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "not supported"},
      {"GET / HTTP/1.1\r\n\r\n", 400, "Host"},
      {"GET / FTP/1.1\r\nHost: a\r\n\r\n", 400, "HTTP/1.1"},
      {"GET /\r\nHost: a\r\n\r\n", 400, "request line"},
      {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line"},
      {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "method"},
      {"GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "target"},
      {"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "target"},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "folding"},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "malformed header"},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "malformed header"},
      {"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400, "control"},
      {std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29), 400, "control"},
      {std::string(300, '\n'), 400, "empty lines"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"},
      {"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400, "more than one Host"},
      // Quoted bytes that are not UTF-8 come back escaped, so a JSON writer can carry them.
      {"GET / HTTP/\xff.\xff\r\nHost: a\r\n\r\n", 505, "HTTP/\\xff.\\xff"},
  };
  for (const Refusal& c : cases) {
    const Parsed p = parse(c.bytes, small);
    ASSERT_EQ(p.state, HttpParseState::kError) << c.bytes;
    EXPECT_EQ(p.error.status, c.status) << c.bytes;
    EXPECT_NE(p.error.message.find(c.message_part), std::string::npos) << c.bytes << " -> " << p.error.message;
  }
}

TEST(HttpRequestParserMalformed, HeadersWithoutEndAreCutAtTheLimit) {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  HttpRequestParser p(limits);
  std::string flood = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 200 && p.state() == HttpParseState::kNeedMore; ++i) p.feed("X-A: bbbbbbbbbbbbbbbb\r\n");
  EXPECT_EQ(p.state(), HttpParseState::kError);
  EXPECT_EQ(p.error().status, 431);
}

// Random mutations of valid requests: every one ends in a verdict or waits for more bytes,
// and the parser never reads past what it was given (ASan checks).
TEST(HttpRequestParserFuzz, MutatedRequestsNeverCrash) {
  Rng rng(1234);
  const std::vector<std::string> seeds = {kPost, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
                                          "OPTIONS * HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\n\r\n"};
  int complete = 0, errors = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = seeds[rng.next_u64() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng.next_u64() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng.next_u64() % s.size();
      switch (rng.next_u64() % 4) {
        case 0: s[at] = static_cast<char>(rng.next_u64() & 0xff); break;
        case 1: s.erase(at, 1 + rng.next_u64() % 8); break;
        case 2: s.insert(at, std::string(1 + rng.next_u64() % 8, static_cast<char>(rng.next_u64() & 0xff))); break;
        default: s.resize(at); break;
      }
    }
    HttpLimits limits;
    limits.max_body_bytes = 64;
    HttpRequestParser p(limits);
    size_t used = 0;
    // Feed in random pieces.
    while (used < s.size() && p.state() == HttpParseState::kNeedMore) {
      const size_t n = 1 + rng.next_u64() % 16;
      const size_t fed = p.feed(std::string_view(s).substr(used, n));
      ASSERT_LE(fed, std::min(n, s.size() - used));
      used += fed;
      if (fed == 0) break;
    }
    if (p.state() == HttpParseState::kComplete) {
      const HttpRequest r = p.take();
      EXPECT_LE(r.body.size(), 64u);
      ++complete;
    } else if (p.state() == HttpParseState::kError) {
      EXPECT_GE(p.error().status, 400);
      EXPECT_FALSE(p.error().message.empty());
      ++errors;
    }
  }
  EXPECT_GT(complete, 0);
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace limarp::server
