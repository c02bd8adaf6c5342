// Writing your own awaitable on a callback API (a libuv request, a C library's completion
// callback, a thread): `co_await corio::suspend<T>(start, on_cancel)` hands `start` a
// Waker<T>; whoever holds the waker completes the wait, from the loop's thread or any other,
// and the task resumes through the loop with the value. Cancelling the task calls
// `on_cancel` at once (stop the operation there); a completion that comes later anyway is
// ignored. Hold tells run() and virtual time that work outside the loop is pending, and
// call_guarded keeps an exception from crossing a C callback.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "corio/detail/coroutine.hpp"
#include "corio/detail/maybe.hpp"
#include "corio/detail/waiting.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"

namespace corio {

template <class T>
class Waker;

namespace detail {

// What a waker resumes: the suspended awaiter, told whether a deferred cancellation is due.
class WakeTarget {
public:
    virtual void on_complete(bool cancel_due) = 0;

protected:
    ~WakeTarget() = default;
};

// The state one suspension shares with the wakers that complete it. Reference-counted (the
// awaiter and every Waker copy, on any thread), so that a late completion finds it and is
// ignored instead of touching a frame that is gone. The target is touched on the loop's
// thread only.
template <class T>
class WakeCell {
public:
    enum class State : std::uint8_t {
        starting,        // start() runs: a completion is stored, the awaiter does not suspend
        waiting,         // suspended
        cancel_pending,  // cancelled, waiting for the completion (on_cancel returned false)
        completing,      // completed from another thread, the resumption is on its way
        completed,
        cancelled,       // the wait ended by cancellation: completions are ignored
        abandoned,       // the awaiter went away
    };

    WakeCell(EventLoop& loop, WakeTarget* target) noexcept : loop_(&loop), target_(target) {}
    void ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void unref() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    State state() const noexcept { return state_.load(std::memory_order_acquire); }

    // On the loop's thread. `store()` puts the outcome in place; false if the wait is over.
    template <class Store>
    bool complete(Store&& store) noexcept {
        State s = state();
        while (open(s)) {
            if (state_.compare_exchange_weak(s, State::completed, std::memory_order_acq_rel)) {
                run_store(store);
                if (s != State::starting && target_) target_->on_complete(s == State::cancel_pending);
                return true;
            }
        }
        return false;
    }
    // From any thread: the outcome is stored here, the resumption posted to the loop.
    template <class Store>
    bool complete_threadsafe(Store&& store) noexcept {
        State s = state();
        while (open(s)) {
            if (state_.compare_exchange_weak(s, State::completing, std::memory_order_acq_rel)) {
                run_store(store);
                cancel_due_ = s == State::cancel_pending;
                ref();  // the posted callback's
                try {
                    loop_->call_soon_threadsafe([this] {
                        finish_completing();
                        unref();
                    });
                } catch (...) {
                    unref();  // the loop is closed: nobody will resume
                    return false;
                }
                return true;
            }
        }
        return false;
    }

    // Awaiter side (loop's thread).
    bool settle_start() noexcept {  // after start(): true if the awaiter must suspend
        State s = State::starting;
        return !state_.compare_exchange_strong(s, State::waiting, std::memory_order_acq_rel) ? s != State::completed
                                                                                           : true;
    }
    // A cancellation arrives: ends the wait (true), or defers it until the completion.
    bool cancel(bool defer) noexcept {
        State s = State::waiting;
        return state_.compare_exchange_strong(s, defer ? State::cancel_pending : State::cancelled,
                                              std::memory_order_acq_rel);
    }
    void abandon() noexcept {
        target_ = nullptr;
        state_.store(State::abandoned, std::memory_order_release);
    }

    Maybe<T>& value() noexcept { return value_; }
    std::exception_ptr& error() noexcept { return error_; }

private:
    static bool open(State s) noexcept {
        return s == State::starting || s == State::waiting || s == State::cancel_pending;
    }
    template <class Store>
    void run_store(Store& store) noexcept {
        try {
            store(*this);
        } catch (...) {
            error_ = std::current_exception();  // copying the value failed
        }
    }
    void finish_completing() noexcept {
        State s = State::completing;
        if (!state_.compare_exchange_strong(s, State::completed, std::memory_order_acq_rel)) return;  // abandoned
        if (target_) target_->on_complete(cancel_due_);
    }

    std::atomic<std::uint32_t> refs_{1};
    std::atomic<State> state_{State::starting};
    bool cancel_due_ = false;
    EventLoop* loop_;
    WakeTarget* target_;
    Maybe<T> value_;
    std::exception_ptr error_;
};

// The awaiter behind corio::suspend.
template <class T, class Start, class OnCancel>
class SuspendAwaiter final : public Waiting, public WakeTarget {
public:
    SuspendAwaiter(Start start, OnCancel on_cancel) : start_(std::move(start)), on_cancel_(std::move(on_cancel)) {}
    SuspendAwaiter(SuspendAwaiter&& o) noexcept(std::is_nothrow_move_constructible_v<Start> &&
                                                std::is_nothrow_move_constructible_v<OnCancel>)
        : Waiting(), start_(std::move(o.start_)), on_cancel_(std::move(o.on_cancel_)) {}
    ~SuspendAwaiter() {
        if (cell_) {
            cell_->abandon();
            cell_->unref();
        }
    }

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(coroutine_handle<P> h) {
        begin_wait(h);
        cell_ = new WakeCell<T>(task_->loop(), this);
        try {
            start_(Waker<T>(cell_));
        } catch (...) {
            cell_->abandon();  // a waker start() kept completes nothing now
            throw;
        }
        if (!cell_->settle_start()) return false;  // completed inside start(): go on at once
        suspended_ = true;
        suspend();
        return true;
    }
    T await_resume() {
        if (suspended_) check_cancelled();
        if (cell_->error()) std::rethrow_exception(cell_->error());
        return cell_->value().take();
    }

    void on_complete(bool cancel_due) override {
        if (cancel_due) cancelled_ = true;
        resume();
    }
    bool cancel_wait() override {
        constexpr bool may_defer = std::is_same_v<std::invoke_result_t<OnCancel&>, bool>;
        bool defer = false;
        if constexpr (may_defer) {
            // Asked before the state changes: on_cancel may complete the waker itself.
            if (cell_->state() != WakeCell<T>::State::waiting) return false;
            defer = !on_cancel_();
            if (!cell_->cancel(defer)) return false;  // completed meanwhile: resumes normally
        } else {
            if (!cell_->cancel(false)) return false;
            on_cancel_();
        }
        if (!defer) resume_cancelled();
        return true;  // taken; with `defer` the wait goes on until the waker completes
    }

private:
    Start start_;
    OnCancel on_cancel_;
    WakeCell<T>* cell_ = nullptr;
    bool suspended_ = false;
};

struct NoCancelHook {
    void operator()() const noexcept {}
};

}  // namespace detail

// The completing end of one corio::suspend: copyable, and safe to keep after the wait is
// over (completing it then does nothing and returns false).
template <class T = void>
class Waker {
public:
    Waker() noexcept = default;
    Waker(const Waker& o) noexcept : cell_(o.cell_) {
        if (cell_) cell_->ref();
    }
    Waker(Waker&& o) noexcept : cell_(std::exchange(o.cell_, nullptr)) {}
    Waker& operator=(Waker o) noexcept {
        std::swap(cell_, o.cell_);
        return *this;
    }
    ~Waker() {
        if (cell_) cell_->unref();
    }
    explicit operator bool() const noexcept { return cell_ != nullptr; }

    // On the loop's thread: the waiting task resumes (in a later step, through the loop) with
    // `value`. False, and nothing happens, if the wait is already over: completed, cancelled,
    // or its task gone.
    template <class U = T>
        requires(!std::is_void_v<U>)
    bool set_result(U&& value) noexcept {
        return cell_ && cell_->complete([&](detail::WakeCell<T>& c) { c.value().emplace(std::forward<U>(value)); });
    }
    template <class U = T>
        requires std::is_void_v<U>
    bool set_result() noexcept {
        return cell_ && cell_->complete([](detail::WakeCell<T>& c) { c.value().emplace(); });
    }
    // The task resumes by throwing `e`.
    bool set_exception(std::exception_ptr e) noexcept {
        return cell_ && e && cell_->complete([&](detail::WakeCell<T>& c) { c.error() = std::move(e); });
    }
    // For Waker<void>: set_result().
    bool wake() noexcept
        requires std::is_void_v<T>
    {
        return set_result();
    }

    // The same from any thread (the outcome is handed to the loop with call_soon_threadsafe);
    // also false once the loop is closed.
    template <class U = T>
        requires(!std::is_void_v<U>)
    bool set_result_threadsafe(U&& value) noexcept {
        return cell_ &&
               cell_->complete_threadsafe([&](detail::WakeCell<T>& c) { c.value().emplace(std::forward<U>(value)); });
    }
    template <class U = T>
        requires std::is_void_v<U>
    bool set_result_threadsafe() noexcept {
        return cell_ && cell_->complete_threadsafe([](detail::WakeCell<T>& c) { c.value().emplace(); });
    }
    bool set_exception_threadsafe(std::exception_ptr e) noexcept {
        return cell_ && e && cell_->complete_threadsafe([&](detail::WakeCell<T>& c) { c.error() = std::move(e); });
    }

    // True once the wait is over; completing the waker then does nothing.
    bool done() const noexcept {
        using State = typename detail::WakeCell<T>::State;
        if (!cell_) return true;
        const State s = cell_->state();
        return s != State::starting && s != State::waiting && s != State::cancel_pending;
    }

private:
    template <class, class, class>
    friend class detail::SuspendAwaiter;
    explicit Waker(detail::WakeCell<T>* adopted) noexcept : cell_(adopted) { cell_->ref(); }
    detail::WakeCell<T>* cell_ = nullptr;
};

// Pass as `on_cancel` for an operation that cannot be stopped (a thread's call): a
// cancellation then waits for the completion and raises CancelledError after it.
inline constexpr auto wait_on_cancel = []() noexcept { return false; };

// co_await suspend<T>(start, on_cancel) -> T. `start(Waker<T>)` runs as the task suspends: it
// starts the operation and gives the waker to whatever completes it (completing it inside
// start() is fine: the task then goes on without suspending). When the task is cancelled
// while it waits, `on_cancel()` runs at once, inside cancel(): returning void (or true) ends
// the wait with CancelledError and later completions are ignored; returning false keeps
// waiting until the waker completes, then raises CancelledError. An exception from start()
// comes out of the co_await. Both callables live in the awaiter, in the coroutine frame:
// capture by reference (a by-value capture with a destructor trips a g++ 12 bug).
template <class T = void, class Start, class OnCancel>
auto suspend(Start start, OnCancel on_cancel) {
    return detail::SuspendAwaiter<T, Start, OnCancel>(std::move(start), std::move(on_cancel));
}
// Without a hook: cancellation ends the wait at once; the operation's completion is ignored.
template <class T = void, class Start>
auto suspend(Start start) {
    return detail::SuspendAwaiter<T, Start, detail::NoCancelHook>(std::move(start), detail::NoCancelHook{});
}

// Work outside the loop is pending for as long as a Hold lives: run() does not close the
// loop, and virtual time does not jump the clock, until it is released (from any thread).
class Hold {
public:
    Hold();  // on the running loop (RuntimeError when none runs)
    explicit Hold(EventLoop& loop) noexcept;
    Hold(Hold&& o) noexcept : loop_(std::exchange(o.loop_, nullptr)) {}
    Hold& operator=(Hold&& o) noexcept {
        if (this != &o) {
            release();
            loop_ = std::exchange(o.loop_, nullptr);
        }
        return *this;
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() { release(); }
    // The work is done; from any thread, once (later calls do nothing).
    void release() noexcept;
    explicit operator bool() const noexcept { return loop_ != nullptr; }

private:
    EventLoop* loop_ = nullptr;
};

namespace detail {
void report_callback_error(EventLoop& loop, const char* where, std::exception_ptr e) noexcept;
}

// Runs f() for a C callback (libuv, curl, a JS callback), where an exception must not
// unwind: one escaping f goes to the loop's exception handler, with the message
// "Exception in callback <where>".
template <class F>
void call_guarded(EventLoop& loop, const char* where, F&& f) noexcept {
    try {
        std::forward<F>(f)();
    } catch (...) {
        detail::report_callback_error(loop, where, std::current_exception());
    }
}

}  // namespace corio
