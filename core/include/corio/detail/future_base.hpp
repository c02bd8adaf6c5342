// What tasks and futures share, as in asyncio where a Task is a Future: a reference count,
// a state, the stored exception, the FIFO list of waiters woken on completion and the done
// callbacks. Also the two small interfaces every suspending awaitable of the core uses.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "corio/errors.hpp"
#include "corio/detail/source_location.hpp"
#include "corio/detail/suspension.hpp"
#include "corio/detail/wait_list.hpp"

namespace corio {
class EventLoop;
}

namespace corio::detail {

class FutureBase;
class TaskBase;

// A node in a future's waiter list, woken once, in registration order, when it completes.
class FutureWaiter : public ListNode {
public:
    virtual void on_future_done(FutureBase& f) = 0;
    // The future is destroyed with this waiter still listed: only a waiter the future owns
    // (a done callback) can be, as awaiters keep their future alive.
    virtual void on_future_dropped() noexcept {}
    // The task that waits through this waiter, if any: the call graph's "awaited by".
    virtual TaskBase* waiting_task() const noexcept { return nullptr; }
    bool registered() const noexcept { return linked(); }

protected:
    FutureWaiter() = default;
    FutureWaiter(const FutureWaiter& o) noexcept : ListNode(o) {}
    ~FutureWaiter() = default;
};

enum class FutureState : std::uint8_t { pending, succeeded, failed, cancelled };

// Rarely used parts, allocated on first use so that a plain task stays small.
struct FutureExtra {
    std::string cancel_message;
    std::string name;
    SourceLocation created_at;  // a finished task's, when it failed
    SourceLocation spawned_at;  // where create_task was called (kept in debug mode)
    std::exception_ptr exception;  // here, not in every future: failures are the rare case
};

class FutureBase {
public:
    FutureBase(const FutureBase&) = delete;
    FutureBase& operator=(const FutureBase&) = delete;

    void ref() noexcept { ++refs_; }
    void unref() noexcept {
        if (--refs_ == 0) {
            // Reported while the object is whole, so the exception handler gets the task.
            if (state_ == FutureState::failed && !retrieved_) [[unlikely]]
                return release_unretrieved();
            delete this;
        }
    }
    std::uint32_t refs() const noexcept { return refs_; }

    EventLoop& loop() const noexcept { return *loop_; }
    FutureState state() const noexcept { return state_; }
    bool done() const noexcept { return state_ != FutureState::pending; }
    bool cancelled() const noexcept { return state_ == FutureState::cancelled; }

    // Future: completes it as cancelled. Task: asks it to cancel itself (asyncio's rules).
    virtual bool cancel(std::string msg = {});

    // asyncio's exception(): throws InvalidStateError while pending, CancelledError when
    // cancelled; marks the exception as retrieved.
    std::exception_ptr exception();
    // For result() and awaiting: throws InvalidStateError while pending, rethrows the stored
    // exception (CancelledError when cancelled); marks it retrieved.
    void rethrow_if_failed();

    void add_waiter(FutureWaiter& w) noexcept { waiters_.push_back(w); }
    const WaitList<FutureWaiter>& waiters() const noexcept { return waiters_; }
    void remove_waiter(FutureWaiter& w) noexcept { waiters_.remove(w); }

    // Scheduled with call_soon once done (at once if already done). Done callbacks and
    // awaiters share one FIFO list, as in asyncio where an awaiter is a done callback.
    void add_done_callback(std::function<void(FutureBase&)> cb);

    FutureExtra& extra() {
        if (!extra_) extra_ = std::make_unique<FutureExtra>();
        return *extra_;
    }
    const FutureExtra* extra_if_any() const noexcept { return extra_.get(); }
    bool exception_retrieved() const noexcept { return retrieved_; }
    // The stored exception without asyncio's checks (empty while pending or after success).
    const std::exception_ptr& stored_exception() const noexcept;
    void mark_retrieved() noexcept { retrieved_ = true; }

protected:
    explicit FutureBase(EventLoop& loop) noexcept : loop_(&loop) {}
    virtual ~FutureBase();
    // "... exception was never retrieved", once, if the failure was never looked at.
    void report_unretrieved(const char* what, const std::string& who) noexcept;
    // The last reference to a failure nobody retrieved went: report it ("Task exception was
    // never retrieved", with the task), then delete unless the handler kept a handle.
    void release_unretrieved() noexcept;

    // Stores a failure (CancelledError makes the state `cancelled`); complete() then wakes
    // the waiters and done callbacks in the order they were added. For success: state_ = succeeded; complete().
    void store_exception(std::exception_ptr e) noexcept { store_exception(e, is_cancellation(e)); }
    // The same when the caller knows whether `e` is a cancellation (no type check).
    void store_exception(std::exception_ptr e, bool cancellation) noexcept;
    void complete() noexcept;

    std::uint32_t refs_ = 1;
    FutureState state_ = FutureState::pending;
    bool retrieved_ = false;
    // TaskBase's flags, declared here to fill the padding before loop_ (a task is one of
    // the allocations of every spawn: its size is a per-task cost).
    bool must_cancel_ = false;
    bool started_ = false;
    EventLoop* loop_;
    WaitList<FutureWaiter> waiters_;
    std::unique_ptr<FutureExtra> extra_;
};

// Storage for a future's value; `void` stores nothing.
template <class T>
class ValueSlot {
public:
    template <class U>
    void set_value(U&& v) {
        value_.emplace(std::forward<U>(v));
    }
    // Copies when T can be copied (several awaiters may ask). Moves the value out when the
    // caller is its last reader (`consume`, e.g. gather of tasks it created) or T is move-only;
    // a later read then throws InvalidStateError instead of seeing a moved-from value.
    T get_value(bool consume) {
        if constexpr (std::is_copy_constructible_v<T>) {
            if (!consume) {
                if (!value_) throw_moved_out();
                return *value_;
            }
        }
        if (!value_) throw_moved_out();
        T v = std::move(*value_);
        value_.reset();
        return v;
    }

private:
    [[noreturn]] static void throw_moved_out();
    std::optional<T> value_;
};

template <>
class ValueSlot<void> {
public:
    void get_value(bool) noexcept {}
};

[[noreturn]] void throw_value_moved_out();
template <class T>
void ValueSlot<T>::throw_moved_out() {
    throw_value_moved_out();
}

}  // namespace corio::detail
