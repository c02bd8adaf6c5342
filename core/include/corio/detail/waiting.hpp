// The wake/cancel protocol every suspending awaitable of the core shares: which task waits
// and where it resumes, queueing its next step (never resuming it inline) when the awaited
// thing is ready, and turning a cancellation the awaitable took into CancelledError when
// the task resumes.
#pragma once

#include "corio/detail/coroutine.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/suspension.hpp"
#include "corio/detail/task_base.hpp"

namespace corio::detail {

class Waiting : public Suspension {
public:
    // True once the awaiter has really suspended (await_ready said no).
    bool waited() const noexcept { return task_ != nullptr; }

protected:
    Waiting() = default;
    Waiting(const Waiting&) noexcept {}  // a copy has not waited
    Waiting& operator=(const Waiting&) = delete;
    ~Waiting() = default;

    // In await_suspend, before the awaiter registers anywhere.
    template <class P>
    void begin_wait(coroutine_handle<P> h) noexcept {
        task_ = task_of(h);
        h_ = h;
    }
    // Last in await_suspend: the task now waits on this awaiter; a cancellation requested
    // while it ran is delivered here (cancel_wait may run at once).
    void suspend() { task_->suspend_on(*this); }
    // The awaited thing is ready: the task's next step is queued.
    void resume() { task_->wake(h_); }
    // For cancel_wait(): the wait is over, and the task resumes with CancelledError.
    void resume_cancelled() {
        cancelled_ = true;
        resume();
    }
    // In await_resume after a real suspension: must CancelledError be raised now? (consumes
    // the request; false when the wait ended normally and no cancellation arrived since)
    bool take_cancel() noexcept { return task_->take_cancel(cancelled_); }
    // The same, throwing; also fine for an awaiter that never suspended.
    void check_cancelled() {
        if (task_) task_->resume_check(cancelled_);
    }
    [[noreturn]] void throw_cancelled() const { throw task_->make_cancelled_error(); }
    coroutine_handle<> handle() const noexcept { return h_; }

    TaskBase* task_ = nullptr;
    coroutine_handle<> h_;
    bool cancelled_ = false;
};

}  // namespace corio::detail
