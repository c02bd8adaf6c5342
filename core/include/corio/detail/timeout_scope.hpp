// asyncio.timeout's mechanism, used by wait_for: a timer that cancels the current task when
// it fires, and on the way out tells whether a CancelledError came from it (then it becomes
// TimeoutError) or from someone else (then it travels on). cancelling()/uncancel() keep the
// two apart even when both happen.
#pragma once

#include <cstdint>

#include "corio/detail/task_base.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/event_loop.hpp"

namespace corio::detail {

class TimeoutScope final : public TimerNode {
public:
    TimeoutScope(TaskBase& task, std::int64_t deadline) : task_(task), cancelling_(task.cancelling()) {
        core(task.loop()).add_timer(*this, deadline);
    }
    // A timeout that is over before it starts (wait_for(aw, 0s)): the task is cancelled at
    // once, so `aw` is cancelled at its first suspension, before any work of its own runs.
    struct Expired {};
    TimeoutScope(TaskBase& task, Expired) : task_(task), cancelling_(task.cancelling()) { fire(); }
    TimeoutScope(const TimeoutScope&) = delete;
    ~TimeoutScope() {
        disarm();
        if (expired_ && !settled_) task_.uncancel();
    }

    void fire() override {
        expired_ = true;
        task_.cancel();
    }
    // Leaving with CancelledError: true when it is this timeout's own and nobody else's.
    bool owns_cancellation() noexcept {
        disarm();
        if (!expired_) return false;
        settled_ = true;
        return task_.uncancel() <= cancelling_;
    }

private:
    void disarm() noexcept {
        if (armed()) core(task_.loop()).remove_timer(*this);
    }
    TaskBase& task_;
    std::uint32_t cancelling_;
    bool expired_ = false;
    bool settled_ = false;
};

// The task running now; RuntimeError naming `what` outside a task.
TaskBase& current_task_ref(const char* what);
[[noreturn]] void throw_timeout(std::int64_t ns);

}  // namespace corio::detail
