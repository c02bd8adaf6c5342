// capture(aw): awaits `aw` and gives its value or its exception as an Outcome instead of
// throwing. C++ forbids co_await in a catch block, so asyncio's
//     except asyncio.CancelledError: await cleanup(); raise
// becomes
//     auto r = co_await corio::capture(work());
//     if (r.cancelled()) co_await cleanup();
//     co_return r.value();  // rethrows what work() threw
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "corio/coro.hpp"
#include "corio/detail/awaitable_traits.hpp"
#include "corio/outcome.hpp"

namespace corio {

template <class A, class R = detail::await_result_t<A>>
Coro<Outcome<R>> capture(A aw) {
    std::exception_ptr error;
    try {
        if constexpr (std::is_void_v<R>) {
            co_await std::move(aw);
            co_return Outcome<void>();
        } else {
            co_return Outcome<R>(co_await std::move(aw));
        }
    } catch (...) {
        error = std::current_exception();
    }
    co_return Outcome<R>(std::move(error));
}

}  // namespace corio
