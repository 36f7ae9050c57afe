// A non-owning reference to a callable, for parameters called during the call only (the
// thread pool's jobs). Unlike std::function it never allocates: a lambda capturing more than
// two references would make std::function take heap memory on every parallel operation.
//
//   void run(FunctionRef<void(int)> fn);   run([&](int i) { ... });
#pragma once

#include <type_traits>
#include <utility>

namespace limarp {

template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f)  // NOLINT: implicit, like std::function
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace limarp
