// What `co_await a` yields for an awaitable of type A: its own awaiter, or the one its
// member operator co_await returns.
#pragma once

#include <type_traits>
#include <utility>

namespace corio::detail {

template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (requires { std::forward<A>(a).operator co_await(); })
        return std::forward<A>(a).operator co_await();
    else
        return std::forward<A>(a);
}

// By value: an awaiter that hands out a reference to what it holds (Lock::Acquire gives
// `Guard&&`) is taken as the value moved out of it.
template <class A>
using await_result_t = std::remove_cvref_t<decltype(get_awaiter(std::declval<A>()).await_resume())>;

}  // namespace corio::detail
