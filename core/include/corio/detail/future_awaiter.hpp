// `co_await task` and `co_await future`: wait in the future's FIFO waiter list. Cancelling
// the awaiting task cancels what it awaits, as asyncio does (shield() is the way out).
#pragma once

#include "corio/detail/coroutine.hpp"
#include "corio/detail/future_base.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/waiting.hpp"
#include "corio/event_loop.hpp"

namespace corio::detail {

[[noreturn]] void throw_empty_handle(const char* what);
[[noreturn]] void throw_await_self(const TaskBase& t);
[[noreturn]] void throw_other_loop();

template <class T>
class FutureAwaiter final : public Waiting, public FutureWaiter {
public:
    FutureAwaiter(FutureBase* f, ValueSlot<T>* slot) noexcept : f_(f), slot_(slot) {}
    FutureAwaiter(const FutureAwaiter& o) noexcept : Waiting(o), FutureWaiter(o), f_(o.f_), slot_(o.slot_) {}
    ~FutureAwaiter() {
        if (waited()) {
            if (registered()) f_->remove_waiter(*this);
            f_->unref();
        }
    }

    bool await_ready() const {
        if (!f_) throw_empty_handle("co_await");
        if (f_ == core(f_->loop()).current_task_ptr()) throw_await_self(static_cast<const TaskBase&>(*f_));
        return f_->done();
    }
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        if (&task_of(h)->loop() != &f_->loop()) throw_other_loop();
        begin_wait(h);
        // Like asyncio's _fut_waiter: the waiting task keeps the future alive until it has
        // resumed and read the result, even if every other handle is dropped meanwhile.
        f_->ref();
        f_->add_waiter(*this);
        suspend();
    }
    T await_resume() {
        check_cancelled();
        f_->rethrow_if_failed();
        if constexpr (std::is_void_v<T>)
            return;
        else
            return slot_->get_value(false);
    }

    void on_future_done(FutureBase&) override { resume(); }
    TaskBase* waiting_task() const noexcept override { return task_; }
    bool cancel_wait() override {
        if (f_->cancel(task_->cancel_message())) return true;
        // Not taken although f_ is pending: f_ is a task passing a cancellation on to this
        // very task (tasks awaiting each other in a cycle, a deadlock). Stop waiting and
        // raise CancelledError here, which unwinds the cycle like any cancellation chain.
        f_->remove_waiter(*this);
        resume_cancelled();
        return true;
    }

private:
    FutureBase* f_;
    ValueSlot<T>* slot_;
};

}  // namespace corio::detail
