// to_thread(f, args...): asyncio.to_thread. Runs f(args...) on a worker thread (libuv's pool
// natively) and gives its result or rethrows its exception, while the loop serves other
// tasks. Cancelling the awaiter returns at once; the call runs to its end and its result
// is dropped. f and args are moved into the job: pass std::ref only for what outlives it.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "corio/backend.hpp"
#include "corio/coro.hpp"
#include "corio/event_loop.hpp"
#include "corio/future.hpp"

namespace corio {

namespace detail {

template <class R, class F, class... Args>
class ThreadCall final : public ThreadJob {
public:
    ThreadCall(Future<R> future, F f, Args... args)
        : future_(std::move(future)), f_(std::move(f)), args_(std::move(args)...) {}

    void run() noexcept override {
        try {
            // Called once, so f and args are passed as rvalues (move-only arguments work).
            if constexpr (std::is_void_v<R>)
                std::apply(std::move(f_), std::move(args_));
            else
                result_.emplace(std::apply(std::move(f_), std::move(args_)));
        } catch (...) {
            error_ = std::current_exception();
        }
    }
    void complete() noexcept override {
        if (!future_.done()) {  // done: the awaiter was cancelled, nobody wants the result
            if (error_) {
                future_.set_exception(error_);
            } else if constexpr (std::is_void_v<R>) {
                future_.set_result();
            } else {
                try {
                    future_.set_result(std::move(*result_));
                } catch (...) {
                    future_.set_exception(std::current_exception());
                }
            }
        }
        delete this;
    }

private:
    Future<R> future_;  // touched on the loop's thread only
    F f_;
    std::tuple<Args...> args_;
    std::optional<std::conditional_t<std::is_void_v<R>, int, R>> result_;
    std::exception_ptr error_;
};

}  // namespace detail

template <class F, class... Args>
Coro<std::invoke_result_t<F, Args...>> to_thread(F f, Args... args) {
    using R = std::invoke_result_t<F, Args...>;
    EventLoop& loop = get_running_loop();
    Future<R> future(loop);
    auto job = std::make_unique<detail::ThreadCall<R, F, Args...>>(future, std::move(f), std::move(args)...);
    loop.run_in_thread(*job);  // throws (and the job is freed) if the loop is closed
    job.release();             // complete() deletes it
    co_return co_await future;
}

}  // namespace corio
