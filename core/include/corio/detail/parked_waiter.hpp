// A task parked in a synchronisation primitive's wait list until another task wakes it:
// asyncio's bare future in locks.py and queues.py, without the allocation. Cancellation
// while parked unlinks it at once, so a cancelled waiter is never handed anything.
#pragma once

#include "corio/detail/coroutine.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/wait_list.hpp"
#include "corio/event_loop.hpp"

namespace corio::detail {

class ParkedWaiter : public Suspension, public ListNode {
public:
    using List = WaitList<ParkedWaiter>;

    ParkedWaiter() = default;
    ParkedWaiter(const ParkedWaiter& o) noexcept : ListNode(o) {}
    ~ParkedWaiter() {
        if (linked()) list_->remove(*this);
    }

    bool await_ready() const noexcept { return false; }
    template <class P>
    void park(List& list, coroutine_handle<P> h) {
        list_ = &list;
        task_ = task_of(h);
        h_ = h;
        list.push_back(*this);
        task_->suspend_on(*this);
    }
    // Queue this waiter's task; the waker decides whether it also leaves the list.
    void wake() noexcept {
        woken_ = true;
        task_->wake(h_);
    }
    bool cancel_wait() override {
        list_->remove(*this);
        cancelled_ = true;
        task_->wake(h_);
        return true;
    }

    bool parked() const noexcept { return task_ != nullptr; }
    bool woken() const noexcept { return woken_; }
    // After a real suspension: must CancelledError be raised now? (consumes the request)
    bool take_cancel() noexcept { return task_->take_cancel(cancelled_); }
    [[noreturn]] void throw_cancelled() const { throw task_->make_cancelled_error(); }
    void unlink() noexcept {
        if (linked()) list_->remove(*this);
    }

private:
    List* list_ = nullptr;
    TaskBase* task_ = nullptr;
    coroutine_handle<> h_;
    bool woken_ = false;
    bool cancelled_ = false;
};

// co_await Park(list): wait until woken; CancelledError if cancelled meanwhile.
class Park final : public ParkedWaiter {
public:
    explicit Park(List& list) noexcept : list_(list) {}
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        park(list_, h);
    }
    void await_resume() {
        unlink();
        if (take_cancel()) throw_cancelled();
    }

private:
    List& list_;
};

}  // namespace corio::detail
