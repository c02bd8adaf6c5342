// sleep(d): suspend the current task for `d`. sleep(0s) (or any d <= 0) yields once: every
// other task that is ready runs before this one continues. The timer lives in the awaiter,
// so a sleeping task costs no allocation.
#pragma once

#include <chrono>
#include <cstdint>

#include "corio/detail/coroutine.hpp"
#include "corio/detail/duration.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/event_loop.hpp"

namespace corio {

namespace detail {

class SleepAwaiter final : public Suspension, public TimerNode {
public:
    explicit SleepAwaiter(std::int64_t ns) noexcept : ns_(ns) {}
    SleepAwaiter(const SleepAwaiter& o) noexcept : TimerNode(o), ns_(o.ns_) {}
    ~SleepAwaiter() {
        if (armed()) task_->loop().remove_timer(*this);
    }

    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        task_ = task_of(h);
        h_ = h;
        EventLoop& loop = task_->loop();
        if (ns_ <= 0) {
            loop.schedule(task_, h);  // a bare yield: back of the ready queue
            return;
        }
        loop.add_timer(*this, deadline_after(loop.clock_ns(), ns_));
        task_->suspend_on(*this);
    }
    void await_resume() { task_->resume_check(cancelled_); }

    void fire() override { task_->wake(h_); }
    bool cancel() override {
        task_->loop().remove_timer(*this);
        cancelled_ = true;
        task_->wake(h_);
        return true;
    }

private:
    std::int64_t ns_;
    TaskBase* task_ = nullptr;
    coroutine_handle<> h_;
    bool cancelled_ = false;
};

}  // namespace detail

template <class Rep, class Period>
detail::SleepAwaiter sleep(std::chrono::duration<Rep, Period> delay) noexcept {
    return detail::SleepAwaiter(detail::to_ns(delay));
}

}  // namespace corio
