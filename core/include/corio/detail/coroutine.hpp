// Picks the coroutine header this standard library has: <coroutine> (libstdc++, newer libc++)
// or <experimental/coroutine> (libc++ 13, which Emscripten 3.1.6 ships). Nothing else in corio
// names either namespace; everything goes through corio::detail::coroutine_handle & co.
#pragma once

#if __has_include(<coroutine>) && !defined(CORIO_USE_EXPERIMENTAL_COROUTINE)
#include <coroutine>
namespace corio::detail {
using std::coroutine_handle;
using std::noop_coroutine;
using std::suspend_always;
using std::suspend_never;
}  // namespace corio::detail
#else
#include <experimental/coroutine>
namespace corio::detail {
using std::experimental::coroutine_handle;
using std::experimental::noop_coroutine;
using std::experimental::suspend_always;
using std::experimental::suspend_never;
}  // namespace corio::detail
#endif
