// shield(task): await a task without passing your cancellation on to it. The awaiter gets
// CancelledError at once; the task runs on (the loop keeps it alive).
#pragma once

#include "corio/coro.hpp"
#include "corio/detail/future_base.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/waiting.hpp"
#include "corio/future.hpp"
#include "corio/task.hpp"

namespace corio {

namespace detail {

template <class H>  // Task<T> or Future<T>
class ShieldAwaiter final : public Waiting, public FutureWaiter {
public:
    explicit ShieldAwaiter(H inner) : inner_(std::move(inner)) {
        if (!inner_.base()) throw_empty_handle("shield");
    }
    ShieldAwaiter(ShieldAwaiter&& o) noexcept : Waiting(), FutureWaiter(), inner_(o.inner_) {}
    ~ShieldAwaiter() {
        if (registered()) inner_.base()->remove_waiter(*this);
    }

    bool await_ready() const noexcept { return inner_.done(); }
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        begin_wait(h);
        inner_.base()->add_waiter(*this);
        suspend();
    }
    auto await_resume() {
        check_cancelled();
        return inner_.result();
    }

    void on_future_done(FutureBase&) override { resume(); }
    TaskBase* waiting_task() const noexcept override { return task_; }
    bool cancel_wait() override {
        inner_.base()->remove_waiter(*this);
        // Nobody awaits the inner work any more: do not report its failure as unretrieved.
        inner_.base()->add_done_callback([](FutureBase& f) { f.mark_retrieved(); });
        resume_cancelled();
        return true;
    }

private:
    H inner_;
};

}  // namespace detail

template <class T>
detail::ShieldAwaiter<Task<T>> shield(Task<T> task) {
    return detail::ShieldAwaiter<Task<T>>(std::move(task));
}
template <class T>
detail::ShieldAwaiter<Future<T>> shield(Future<T> future) {
    return detail::ShieldAwaiter<Future<T>>(std::move(future));
}
// The coroutine becomes a task first, so that it outlives the cancelled awaiter.
template <class T>
detail::ShieldAwaiter<Task<T>> shield(Coro<T> coro) {
    return shield(create_task(std::move(coro)));
}

}  // namespace corio
