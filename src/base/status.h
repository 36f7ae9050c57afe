// Recoverable errors as values.
//
// Files, user input and network requests fail in ways the caller must handle, so functions
// that touch them return `Status` or `Result<T>` instead of throwing. Broken invariants
// (a bug, not bad input) abort through LIMARP_CHECK instead.
//
//   Result<Config> parse(std::string_view text);
//   LIMARP_ASSIGN_OR_RETURN(Config cfg, parse(text));
//   LIMARP_TRY(validate(cfg));
//
// Messages carry context: the file, the tensor or field, expected vs actual. Callers add
// their own context with `with_context` as the error travels up.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/utf8_escape.h"

namespace limarp {

class Error {
 public:
  // Messages quote outside bytes (file names, request lines, header values) and end up in JSON
  // answers and logs: invalid UTF-8 is escaped here, once, so no writer downstream can fail on it.
  explicit Error(std::string message) : message_(escape_invalid_utf8(std::move(message))) {}
  const std::string& message() const { return message_; }
  // Prepends context: "reading model.gguf: tensor count 3 exceeds ...".
  Error with_context(std::string_view context) const {
    return Error(fmt::format("{}: {}", context, message_));
  }

 private:
  std::string message_;
};

template <typename... Args>
Error make_error(fmt::format_string<Args...> format, Args&&... args) {
  return Error(fmt::format(format, std::forward<Args>(args)...));
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return !error_.has_value(); }
  const Error& error() const { return *error_; }
  Status with_context(std::string_view context) const {
    return ok() ? *this : Status(error_->with_context(context));
  }

 private:
  std::optional<Error> error_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}    // NOLINT
  Result(Status status) : v_(status.error()) {}    // only for failed statuses  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Error& error() const { return std::get<Error>(v_); }
  Status status() const { return ok() ? Status() : Status(error()); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }
  T& operator*() & { return checked(); }

  Result with_context(std::string_view context) && {
    if (ok()) return std::move(*this);
    return Result(error().with_context(context));
  }

 private:
  T& checked() {
    if (!ok()) {
      std::fprintf(stderr, "limarp: value() on a failed Result: %s\n", error().message().c_str());
      std::abort();
    }
    return std::get<T>(v_);
  }
  std::variant<T, Error> v_;
};

}  // namespace limarp

#define LIMARP_CONCAT_INNER(a, b) a##b
#define LIMARP_CONCAT(a, b) LIMARP_CONCAT_INNER(a, b)

// Returns the error of a failed Status or Result from the enclosing function.
#define LIMARP_TRY(expr)                                   \
  do {                                                     \
    auto limarp_try_status_ = (expr);                      \
    if (!limarp_try_status_.ok()) return limarp_try_status_.error(); \
  } while (0)

#define LIMARP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()

#define LIMARP_ASSIGN_OR_RETURN(lhs, expr) \
  LIMARP_ASSIGN_OR_RETURN_IMPL(LIMARP_CONCAT(limarp_result_, __LINE__), lhs, expr)

// Invariants: a failure here is a bug in limarp, never bad input.
#define LIMARP_CHECK(cond)                                                              \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "limarp: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
