// async_with(manager, body): Python's `async with`. aenter()'s value (or the manager itself
// when aenter returns Coro<>) goes to the body; aexit(std::exception_ptr) runs on every way
// out of the body — normal end, exception, cancellation; an aexit returning Coro<bool> that
// gives true swallows the exception. An exception from aenter skips the body and aexit.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "corio/coro.hpp"
#include "corio/detail/maybe.hpp"

namespace corio {

namespace detail {

template <class M>
using aenter_value_t = typename decltype(std::declval<M&>().aenter())::value_type;
template <class M>
inline constexpr bool aexit_may_swallow =
    std::is_same_v<typename decltype(std::declval<M&>().aexit(std::exception_ptr{}))::value_type, bool>;

// The body's argument: aenter's value, or the manager when aenter gives nothing.
template <class M, class E = aenter_value_t<M>>
struct entered {
    using type = E&;
};
template <class M>
struct entered<M, void> {
    using type = M&;
};
template <class M>
using entered_t = typename entered<M>::type;
template <class M, class F>
using body_value_t = typename std::invoke_result_t<F&, entered_t<M>>::value_type;

// What async_with gives back: the body's value, or std::optional of it when aexit can
// swallow the body's exception (then there is no value to give).
template <class M, class F>
using async_with_result_t =
    std::conditional_t<std::is_void_v<body_value_t<M, F>>, void,
                       std::conditional_t<aexit_may_swallow<M>, std::optional<body_value_t<M, F>>, body_value_t<M, F>>>;

// M is a reference type for an lvalue manager (used in place) and a value type for an
// rvalue (moved into this frame).
template <class M, class F>
Coro<async_with_result_t<std::remove_reference_t<M>, F>> async_with_impl(M manager, F body) {
    using Mgr = std::remove_reference_t<M>;
    using E = aenter_value_t<Mgr>;
    using V = body_value_t<Mgr, F>;
    Maybe<E> entered;
    if constexpr (std::is_void_v<E>)
        co_await manager.aenter();
    else
        entered.emplace(co_await manager.aenter());

    std::exception_ptr error;
    Maybe<V> value;
    try {
        auto&& arg = [&]() -> entered_t<Mgr> {
            if constexpr (std::is_void_v<E>)
                return manager;
            else
                return *entered;
        }();
        if constexpr (std::is_void_v<V>) {
            co_await body(arg);
            value.emplace();
        } else {
            value.emplace(co_await body(arg));
        }
    } catch (...) {
        error = std::current_exception();
    }

    bool swallow = false;
    if constexpr (aexit_may_swallow<Mgr>)
        swallow = co_await manager.aexit(error);
    else
        co_await manager.aexit(error);
    if (error && !swallow) std::rethrow_exception(error);

    if constexpr (!std::is_void_v<V> && aexit_may_swallow<Mgr>)
        co_return value ? std::optional<V>(value.take()) : std::nullopt;
    else
        co_return value.take();
}

}  // namespace detail

template <class M, class F>
auto async_with(M&& manager, F body) {
    return detail::async_with_impl<M>(std::forward<M>(manager), std::move(body));
}

}  // namespace corio
