// The untyped part of a task: its root coroutine, what it is suspended on, and asyncio's
// cancellation state (must_cancel, the count of cancellation requests). The loop holds one
// reference while the task is pending, so dropping every Task handle never kills a task.
#pragma once

#include <cstdint>
#include <string>

#include "corio/detail/coroutine.hpp"
#include "corio/detail/future_base.hpp"
#include "corio/detail/source_location.hpp"
#include "corio/errors.hpp"

namespace corio::detail {

class TaskBase : public FutureBase {
public:
    bool cancel(std::string msg = {}) override;
    std::uint32_t cancelling() const noexcept { return num_cancels_; }
    // As in Python 3.13: when the last request is taken back, a cancellation not yet
    // delivered is dropped too (a timeout that expired while its block ran no await).
    std::uint32_t uncancel() noexcept {
        if (num_cancels_ > 0 && --num_cancels_ == 0) must_cancel_ = false;
        return num_cancels_;
    }
    std::uint64_t id() const noexcept { return id_; }
    std::string name() const;
    void set_name(std::string name) { extra().name = std::move(name); }
    // Where the task's coroutine was defined: from its frame while the task runs, kept
    // afterwards only if the task failed (for the never-retrieved report).
    SourceLocation created_at() const noexcept;
    // The task's outermost frame (empty once done): found from the innermost one through
    // each frame's continuation_, so that a task keeps one frame pointer, not two.
    coroutine_handle<> root() const noexcept;
    Suspension* waiting_on() const noexcept { return waiting_on_; }
    // The innermost coroutine frame the task runs or is suspended in (its root until it
    // awaits a Coro); the call graph walks outwards from it through each frame's
    // continuation_. Kept current by one store wherever control passes between frames.
    // Empty once the task is done (its frames are gone).
    void* innermost_frame() const noexcept { return frame_; }
    void set_innermost_frame(void* frame) noexcept { frame_ = frame; }

    // --- used by the core's awaitables -------------------------------------------------
    // In await_suspend: the task now waits on `s`. A cancellation requested while the task
    // was running is delivered here, as asyncio does at the next suspension. (Defined in
    // event_loop.hpp: debug mode checks that the loop is running this task.)
    inline void suspend_on(Suspension& s);
    // The awaited thing is ready (or took the cancellation): queue the task's next step.
    inline void wake(coroutine_handle<> h);
    // In await_resume after a real suspension: throws CancelledError if the awaitable took a
    // cancellation (`delivered`) or one arrived after the task was woken.
    void resume_check(bool delivered) {
        if (take_cancel(delivered)) [[unlikely]]
            throw make_cancelled_error();
    }
    // The same decision without the throw, for awaitables that must undo something first
    // (a woken Lock waiter passes the lock on): true means "raise CancelledError now".
    bool take_cancel(bool delivered) noexcept {
        if (!(delivered | must_cancel_)) return false;
        must_cancel_ = false;
        return true;
    }
    CancelledError make_cancelled_error() const;
    const std::string& cancel_message() const noexcept;

    // --- used by the loop -------------------------------------------------------------
    // First step: false if the task was cancelled before it started (then it is finished).
    bool start() {
        started_ = true;
        if (must_cancel_) [[unlikely]] {
            finish_unstarted();
            return false;
        }
        return true;
    }
    bool started() const noexcept { return started_; }
    // The root coroutine reached its end: take its result from the frame at `frame`.
    virtual void finish_root(void* frame) noexcept = 0;
    // The loop closes with this task still pending: destroy its frame (its destructors run).
    void destroy_pending() noexcept;
    // create_task failed before the task took its frame: free the task, leave the frame.
    void abandon() noexcept {
        forget_frames();
        unref();
    }

    TaskBase* prev_in_loop = nullptr;
    TaskBase* next_in_loop = nullptr;

protected:
    TaskBase(EventLoop& loop, coroutine_handle<> root, std::uint64_t id) noexcept
        : FutureBase(loop), frame_(root.address()), id_(static_cast<std::uint32_t>(id)) {}
    // Where the root coroutine was defined, read from its frame while it exists.
    virtual SourceLocation root_location() const noexcept = 0;
    ~TaskBase() override;
    // The root frame is gone and the outcome stored: wake waiters, let the loop forget us.
    void finish() noexcept;
    void finish_unstarted() noexcept;
    void keep_location(SourceLocation at) noexcept;
    // The frames are gone (finished or destroyed).
    void forget_frames() noexcept { frame_ = nullptr; }

private:
    Suspension* waiting_on_ = nullptr;
    void* frame_;  // innermost_frame(); empty once the frames are gone
    std::uint32_t num_cancels_ = 0;
    std::uint32_t id_;  // Task-<id>; wraps after 4 billion tasks, which only names repeat
};

}  // namespace corio::detail
