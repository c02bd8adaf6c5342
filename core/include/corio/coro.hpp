// Coro<T>: corio's `async def`. Lazy (nothing runs until it is awaited or made a task),
// move-only, and awaited inside the current task without any new scheduling. Control
// passes to the child and back through the loop's trampoline, never by nested resume().
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "corio/detail/coroutine.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/event_loop.hpp"

namespace corio {

template <class T = void>
class Coro;

namespace detail {

[[noreturn]] void throw_empty_coro();
[[noreturn]] void throw_reused_coro(const char* function);
void report_never_awaited(const PromiseBase& p) noexcept;

// A coroutine's result inside its promise. An over-aligned result (alignas(32) T) lives on
// the heap, so that the promise keeps pointer alignment and promise_at() stays valid.
template <class T>
class HeapResult {
public:
    template <class U>
    void emplace(U&& v) {
        p_ = std::make_unique<T>(std::forward<U>(v));
    }
    T& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    std::unique_ptr<T> p_;
};
template <class T>
using ResultSlot = std::conditional_t<(alignof(T) <= kMaxPromiseAlign), std::optional<T>, HeapResult<T>>;

struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(coroutine_handle<P> h) noexcept {
        PromiseBase& p = h.promise();
        if (p.continuation_) {
            p.task_->set_innermost_frame(p.continuation_.address());
            core(p.task_->loop()).transfer(p.task_, p.continuation_);
        } else {
            p.task_->finish_root(h.address());  // a task's root: the task is done
        }
    }
    void await_resume() const noexcept {}
};

template <class T>
class Promise final : public PromiseBase {
public:
    explicit Promise(SourceLocation at = SourceLocation::current()) noexcept : PromiseBase(at) {
        static_assert(alignof(Promise) <= kMaxPromiseAlign, "see promise_at(): over-aligned results are not supported");
    }
    Coro<T> get_return_object() noexcept;
    FinalAwaiter final_suspend() noexcept { return {}; }
    template <class U = T>
    void return_value(U&& v) {
        value_.emplace(std::forward<U>(v));
    }
    T take_result() {
        if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
        return std::move(*value_);
    }
    ResultSlot<T> value_;
};

template <>
class Promise<void> final : public PromiseBase {
public:
    explicit Promise(SourceLocation at = SourceLocation::current()) noexcept : PromiseBase(at) {}
    Coro<void> get_return_object() noexcept;
    FinalAwaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void take_result() {
        if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
    }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Coro {
    static_assert(!std::is_reference_v<T>, "Coro<T&> is not supported: return a pointer or std::reference_wrapper");

public:
    using promise_type = detail::Promise<T>;
    using value_type = T;
    using handle_type = detail::coroutine_handle<promise_type>;

    Coro() noexcept = default;
    explicit Coro(handle_type h) noexcept : h_(h) {}
    Coro(Coro&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Coro& operator=(Coro&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    ~Coro() { reset(); }

    explicit operator bool() const noexcept { return static_cast<bool>(h_); }
    // True once the coroutine was started (awaited or made a task).
    bool started() const noexcept { return h_ && (h_.done() || h_.promise().task_ != nullptr); }
    const char* function_name() const noexcept { return h_ ? h_.promise().function_ : ""; }

    struct Awaiter {
        handle_type h;
        explicit Awaiter(handle_type handle) noexcept : h(handle) {}
        bool await_ready() const {
            if (!h) detail::throw_empty_coro();
            if (h.done() || h.promise().task_) detail::throw_reused_coro(h.promise().function_);
            return false;
        }
        template <class P>
        void await_suspend(detail::coroutine_handle<P> parent) noexcept {
            promise_type& child = h.promise();
            child.continuation_ = parent;
            child.task_ = detail::task_of(parent);
            child.task_->set_innermost_frame(h.address());
            detail::core(child.task_->loop()).transfer(child.task_, h);
        }
        T await_resume() { return h.promise().take_result(); }
    };
    Awaiter operator co_await() && noexcept { return Awaiter{h_}; }
    Awaiter operator co_await() & noexcept { return Awaiter{h_}; }

    // Hands the frame over (to a task); the Coro becomes empty.
    handle_type release() noexcept { return std::exchange(h_, {}); }
    handle_type handle() const noexcept { return h_; }

private:
    void reset() noexcept {
        if (!h_) return;
        if (!started()) detail::report_never_awaited(h_.promise());
        h_.destroy();
        h_ = {};
    }
    handle_type h_;
};

namespace detail {
template <class T>
Coro<T> Promise<T>::get_return_object() noexcept {
    return Coro<T>(coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Coro<void> Promise<void>::get_return_object() noexcept {
    return Coro<void>(coroutine_handle<Promise<void>>::from_promise(*this));
}

// Drops a coroutine on purpose without running it (wait_for with a zero timeout does):
// unlike destroying an unawaited Coro, this is not reported as "never awaited".
template <class T>
void discard(Coro<T>&& c) noexcept {
    if (auto h = c.release()) h.destroy();
}
}  // namespace detail

}  // namespace corio
