// sleep(d): suspend the current task for `d`. sleep(0s) (or any d <= 0) yields once: every
// other task that is ready runs before this one continues. The timer lives in the awaiter,
// so a sleeping task costs no allocation.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

#include "corio/detail/coroutine.hpp"
#include "corio/detail/duration.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/event_loop.hpp"

namespace corio {

namespace detail {

class SleepAwaiter final : public TimerNode {
public:
    explicit SleepAwaiter(std::int64_t ns) noexcept { stash(ns); }
    SleepAwaiter(const SleepAwaiter& o) noexcept : TimerNode(o) { stash(o.deadline()); }
    ~SleepAwaiter() {
        if (armed()) core(task()->loop()).remove_timer(*this);
    }

    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        TaskBase* task = task_of(h);
        h_ = h;
        LoopCore& loop = core(task->loop());
        const std::int64_t ns = deadline();  // the stashed delay
        if (ns <= 0) {
            loop.schedule(task, h);  // a bare yield: back of the ready queue
            return;
        }
        loop.add_timer(*this, deadline_after(loop.clock_ns(), ns));
        task->suspend_on(*this);
    }
    void await_resume() { task()->resume_check(deadline() == kCancelled); }

    void fire() override { task()->wake(h_); }
    bool cancel_wait() override {
        TaskBase* t = task();
        core(t->loop()).remove_timer(*this);
        stash(kCancelled);
        t->wake(h_);
        return true;
    }

private:
    // The task is the suspended frame's (one field less in every sleeping frame).
    TaskBase* task() const noexcept { return promise_at(h_.address()).task_; }

    // Marks a cancelled sleep in the (then unarmed) deadline field: no flag in the frame.
    // No delay maps to it: to_ns() saturates at -4e18.
    static constexpr std::int64_t kCancelled = std::numeric_limits<std::int64_t>::min();

    coroutine_handle<> h_;
};

}  // namespace detail

template <class Rep, class Period>
detail::SleepAwaiter sleep(std::chrono::duration<Rep, Period> delay) noexcept {
    return detail::SleepAwaiter(detail::to_ns(delay));
}

}  // namespace corio
