// The one place where exceptions turn into errors. limarp's own code returns Status, but the
// libraries under it throw (std::bad_alloc, nlohmann's type errors, std::system_error), and a
// server thread or a CLI command must never die of one: the request gets a 500 with the
// reason, the command an error message, and the process goes on (or exits cleanly).
//
//   Status st = run_guarded([&] { handler(req, ex); });
//   if (!st.ok()) log::error("{} {}: {}", req.method, req.path, st.error().message());
#pragma once

#include <exception>
#include <new>
#include <type_traits>

#include "base/status.h"

namespace limarp {

// Calls fn(); an escaping exception becomes "internal error: <what>" (fn may return void or
// Status).
template <typename F>
Status run_guarded(F&& fn) noexcept {
  try {
    if constexpr (std::is_same_v<std::invoke_result_t<F>, void>) {
      fn();
      return {};
    } else {
      return fn();
    }
  } catch (const std::bad_alloc&) {
    return make_error("internal error: out of memory");
  } catch (const std::exception& e) {
    return make_error("internal error: {}", e.what());
  } catch (...) {
    return make_error("internal error: an unknown exception");
  }
}

}  // namespace limarp
