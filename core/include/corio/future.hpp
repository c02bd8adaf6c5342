// Future<T>: a result that arrives later, set by a callback (asyncio's loop.create_future()).
// The bridge from callback APIs (libuv, JS promises, threads via call_soon_threadsafe) to
// co_await. Copyable handle; awaited by any number of tasks.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "corio/detail/future_awaiter.hpp"
#include "corio/detail/future_base.hpp"
#include "corio/event_loop.hpp"
#include "corio/task.hpp"

namespace corio {

namespace detail {
template <class T>
class FutureImpl final : public FutureBase, public ValueSlot<T> {
public:
    explicit FutureImpl(EventLoop& loop) noexcept : FutureBase(loop) {}
    void succeed() {
        state_ = FutureState::succeeded;
        complete();
    }
    void fail(std::exception_ptr e) {
        store_exception(std::move(e));
        complete();
    }
};
[[noreturn]] void throw_future_done(const char* what);
}  // namespace detail

template <class T = void>
class Future {
public:
    // A future of the running loop (RuntimeError when none runs).
    Future() : Future(get_running_loop()) {}
    explicit Future(EventLoop& loop) : f_(new detail::FutureImpl<T>(loop)) {}
    Future(const Future& o) noexcept : f_(o.f_) {
        if (f_) f_->ref();
    }
    // Leaves `o` empty, as a moved-from Task: using it then throws InvalidStateError.
    Future(Future&& o) noexcept : f_(std::exchange(o.f_, nullptr)) {}
    Future& operator=(Future o) noexcept {
        std::swap(f_, o.f_);
        return *this;
    }
    ~Future() {
        if (f_) f_->unref();
    }
    explicit operator bool() const noexcept { return f_ != nullptr; }

    bool done() const { return impl().done(); }
    bool cancelled() const { return impl().cancelled(); }
    bool cancel(std::string msg = {}) { return impl().cancel(std::move(msg)); }

    template <class U = T>
        requires(!std::is_void_v<U>)
    void set_result(U&& value) {
        if (impl().done()) detail::throw_future_done("set_result");
        f_->set_value(std::forward<U>(value));
        f_->succeed();
    }
    template <class U = T>
        requires std::is_void_v<U>
    void set_result() {
        if (impl().done()) detail::throw_future_done("set_result");
        f_->succeed();
    }
    void set_exception(std::exception_ptr e) {
        if (impl().done()) detail::throw_future_done("set_exception");
        if (!e) throw ValueError("Future::set_exception() needs a non-empty std::exception_ptr");
        f_->fail(std::move(e));
    }

    T result() const {
        impl().rethrow_if_failed();
        if constexpr (!std::is_void_v<T>) return f_->get_value(false);
    }
    std::exception_ptr exception() const { return impl().exception(); }

    template <class F>
    void add_done_callback(F f) {
        // The callback gets a fresh handle when it runs: holding one here would keep an
        // unfinished future alive forever.
        impl().add_done_callback([f = std::move(f)](detail::FutureBase& b) mutable {
            f(Future(static_cast<detail::FutureImpl<T>*>(&b)));
        });
    }

    // An empty future throws InvalidStateError from co_await (await_ready).
    auto operator co_await() const noexcept {
        if constexpr (std::is_void_v<T>)
            return detail::FutureAwaiter<void>(f_, nullptr);
        else
            return detail::FutureAwaiter<T>(f_, f_);
    }
    detail::FutureBase* base() const noexcept { return f_; }

    template <class U>
    bool operator==(const Future<U>& o) const noexcept {
        return base() == o.base();
    }

private:
    explicit Future(detail::FutureImpl<T>* f) noexcept : f_(f) { f_->ref(); }
    detail::FutureImpl<T>& impl() const {
        if (!f_) detail::throw_empty_handle("Future");
        return *f_;
    }
    detail::FutureImpl<T>* f_;
};

template <class T>
Future<T> EventLoop::create_future() {
    return Future<T>(*this);
}

}  // namespace corio
