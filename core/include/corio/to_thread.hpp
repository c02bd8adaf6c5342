// to_thread(f, args...): asyncio.to_thread. Runs f(args...) on a worker thread and gives its
// result or rethrows its exception, while the loop serves other tasks. f and args are moved
// into the job: pass std::ref only for what outlives it.
// Cancelling the awaiter waits for the call to return, then raises CancelledError (Trio's
// rule, not asyncio's): a lambda that captures the awaiting frame by reference never runs
// on after that frame is gone. to_thread(abandon_on_cancel, f, args...) is asyncio's rule:
// the awaiter returns at once and the call runs on, its result dropped.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "corio/backend.hpp"
#include "corio/coro.hpp"
#include "corio/detail/maybe.hpp"
#include "corio/event_loop.hpp"
#include "corio/waker.hpp"

namespace corio {

struct AbandonOnCancel {
    explicit constexpr AbandonOnCancel() = default;
};
// Pass first to to_thread: cancelling the awaiter returns at once, the call runs on.
inline constexpr AbandonOnCancel abandon_on_cancel{};

namespace detail {

template <class R, class F, class... Args>
class ThreadCall final : public ThreadJob {
public:
    ThreadCall(Waker<R> waker, F f, Args... args)
        : waker_(std::move(waker)), f_(std::move(f)), args_(std::move(args)...) {}

    void run() noexcept override {
        try {
            // Called once, so f and args are passed as rvalues (move-only arguments work).
            if constexpr (std::is_void_v<R>) {
                std::apply(std::move(f_), std::move(args_));
                result_.emplace();
            } else {
                result_.emplace(std::apply(std::move(f_), std::move(args_)));
            }
        } catch (...) {
            error_ = std::current_exception();
        }
    }
    // On the loop's thread. A waker whose wait is over (abandoned) ignores the outcome.
    void complete() noexcept override {
        if (error_)
            waker_.set_exception(error_);
        else if constexpr (std::is_void_v<R>)
            waker_.set_result();
        else
            waker_.set_result(result_.take());
        delete this;
    }

private:
    Waker<R> waker_;
    F f_;
    std::tuple<Args...> args_;
    Maybe<R> result_;
    std::exception_ptr error_;
};

template <bool Abandon, class F, class... Args>
Coro<std::invoke_result_t<F, Args...>> to_thread_impl(F f, Args... args) {
    using R = std::invoke_result_t<F, Args...>;
    EventLoop& loop = get_running_loop();
    auto start = [&](Waker<R> waker) {
        auto job = std::make_unique<ThreadCall<R, F, Args...>>(std::move(waker), std::move(f), std::move(args)...);
        loop.run_in_thread(*job);  // throws (and the job is freed) if the loop is closed
        job.release();             // complete() deletes it
    };
    if constexpr (Abandon)
        co_return co_await suspend<R>(start);
    else
        co_return co_await suspend<R>(start, wait_on_cancel);
}

}  // namespace detail

template <class F, class... Args>
Coro<std::invoke_result_t<F, Args...>> to_thread(F f, Args... args) {
    return detail::to_thread_impl<false>(std::move(f), std::move(args)...);
}

template <class F, class... Args>
Coro<std::invoke_result_t<F, Args...>> to_thread(AbandonOnCancel, F f, Args... args) {
    return detail::to_thread_impl<true>(std::move(f), std::move(args)...);
}

}  // namespace corio
