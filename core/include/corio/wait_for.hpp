// wait_for(aw, timeout): the result of `aw`, or TimeoutError once `timeout` has passed. On
// timeout the inner work is cancelled and has finished before TimeoutError is thrown. The
// work runs inside the awaiting task (asyncio 3.12's design), so no task is created.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "corio/coro.hpp"
#include "corio/detail/awaitable_traits.hpp"
#include "corio/detail/duration.hpp"
#include "corio/detail/maybe.hpp"
#include "corio/detail/timeout_scope.hpp"
#include "corio/future.hpp"
#include "corio/shield.hpp"
#include "corio/task.hpp"

namespace corio {

namespace detail {

template <class A>
struct is_coro : std::false_type {};
template <class T>
struct is_coro<Coro<T>> : std::true_type {};
template <class A>
struct is_task_or_future : std::false_type {};
template <class T>
struct is_task_or_future<Task<T>> : std::true_type {};
template <class T>
struct is_task_or_future<Future<T>> : std::true_type {};

template <class A, class R = await_result_t<A>>
Coro<R> wait_for_impl(A aw, std::int64_t ns) {
    TaskBase& task = current_task_ref("wait_for()");
    std::optional<TimeoutScope> scope;
    if (ns > 0) {
        scope.emplace(task, deadline_after(core(task.loop()).clock_ns(), ns));
    } else if constexpr (is_coro<A>::value) {
        // asyncio: a zero or negative timeout never starts a coroutine.
        discard(std::move(aw));
        throw_timeout(ns);
    } else if constexpr (is_task_or_future<A>::value) {
        // ... returns a finished task's result, and cancels a running one, waiting for it,
        // before timing out. Only a cancellation of the caller that is new passes through.
        if (!aw.done()) {
            const std::uint32_t before = task.cancelling();
            aw.cancel();
            bool cancelled = false;
            try {
                co_await shield(aw);
            } catch (const CancelledError&) {
                if (task.cancelling() > before || !aw.cancelled()) throw;
                cancelled = true;
            }
            if (cancelled) throw_timeout(ns);
        }
        co_return aw.result();
    } else {
        // Anything else (gather, ...) is cancelled at its first suspension and awaited.
        scope.emplace(task, TimeoutScope::Expired{});
    }
    bool timed_out = false;
    Maybe<R> result;
    try {
        if constexpr (std::is_void_v<R>) {
            co_await std::move(aw);
            result.emplace();
        } else {
            result.emplace(co_await std::move(aw));
        }
    } catch (const CancelledError&) {
        if (!scope->owns_cancellation()) throw;
        timed_out = true;
    }
    if (timed_out) throw_timeout(ns);
    co_return result.take();
}

}  // namespace detail

template <class A, class Rep, class Period>
auto wait_for(A&& aw, std::chrono::duration<Rep, Period> timeout) {
    return detail::wait_for_impl<std::remove_cvref_t<A>>(std::forward<A>(aw), detail::to_ns(timeout));
}

}  // namespace corio
