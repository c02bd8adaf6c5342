// task_group(body): asyncio.TaskGroup. The body runs in the current task and starts children
// with tg.create_task(); task_group returns when every child is done. The first failure
// cancels the body and the other children; then an ExceptionGroup holding every failure is
// thrown. A cancellation from outside cancels the children, waits for them, and travels on.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "corio/coro.hpp"
#include "corio/detail/future_base.hpp"
#include "corio/detail/maybe.hpp"
#include "corio/detail/waiting.hpp"
#include "corio/handle.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/errors.hpp"
#include "corio/task.hpp"

namespace corio {

class TaskGroup;

namespace detail {
TaskBase& current_task_ref(const char* what);
}

class TaskGroup {
public:
    TaskGroup(const TaskGroup&) = delete;
    TaskGroup& operator=(const TaskGroup&) = delete;

    // Starts `coro` as a child. RuntimeError once the group is finished or shutting down
    // (after a failure); the coroutine is then not started.
    template <class T>
    Task<T> create_task(Coro<T> coro, std::string name = {},
                        detail::SourceLocation at = detail::SourceLocation::current()) {
        check_open(coro.function_name());
        Task<T> task = parent_.loop().create_task(std::move(coro), std::move(name), at);
        adopt(*task.base());
        return task;
    }

    // The callable itself, kept alive as long as the child runs (see corio::create_task).
    template <detail::coro_factory F>
    auto create_task(F factory, std::string name = {}, detail::SourceLocation at = detail::SourceLocation::current()) {
        return create_task(detail::call_owned(std::move(factory)), std::move(name), at);
    }

    // The children still running.
    std::size_t size() const noexcept { return pending_; }

    // --- used by task_group() ------------------------------------------------------------
    explicit TaskGroup(detail::TaskBase& parent) noexcept : parent_(parent) {}
    ~TaskGroup();
    // asyncio's __aexit__: `body_error` is how the body ended (empty: normally). Waits for
    // every child, then throws what asyncio would (ExceptionGroup, CancelledError) or returns.
    struct Exit;
    Exit exit(std::exception_ptr body_error);

private:
    // A child until the group has reacted to its end; then it is gone, and so is the group's
    // hold on the task: a group under an accept loop stays as small as its live children.
    // asyncio reacts to a finished child from a done callback, i.e. one call_soon later: a
    // sibling that was already ready still runs its step first (and may fail too, landing in
    // the same ExceptionGroup). The child is that callback itself, so reacting allocates
    // nothing; a destroyed group cancels a reaction still queued.
    struct Child final : detail::FutureWaiter, detail::Callback {
        Child(TaskGroup& g, detail::TaskBase& t)
            : Callback(g.parent_.loop()), group(&g), task(detail::task_handle<void>(&t)) {}
        void on_future_done(detail::FutureBase&) override {
            ref();  // the ready queue's
            detail::core(loop()).schedule_callback(this);
        }
        void invoke() override {
            if (group) group->on_child_done(*this);
        }
        detail::TaskBase* waiting_task() const noexcept override { return group ? &group->parent_ : nullptr; }
        TaskGroup* group;
        Task<> task;
        Child* prev = nullptr;  // the group's children not reacted to yet
        Child* next = nullptr;
    };

    void check_open(const char* function);
    void adopt(detail::TaskBase& t);
    void on_child_done(Child& c);
    void unlink(Child& c) noexcept;
    void abort();

    detail::TaskBase& parent_;
    Child* children_ = nullptr;
    Child* last_child_ = nullptr;
    std::size_t pending_ = 0;
    std::vector<std::exception_ptr> errors_;
    bool aborting_ = false;
    bool exiting_ = false;
    bool finished_ = false;
    bool parent_cancel_requested_ = false;
    bool propagate_cancellation_ = false;
    std::exception_ptr pending_body_error_;
    Exit* exit_waiter_ = nullptr;
    friend struct Exit;
};

// Waits until the group's children are done. Cancellation of the waiting task does not
// interrupt the wait: it cancels the children (if not already) and is remembered.
struct TaskGroup::Exit final : detail::Waiting {
    explicit Exit(TaskGroup& g) noexcept : group(g) {}
    Exit(const Exit& o) noexcept : Waiting(o), group(o.group) {}
    ~Exit() {
        if (group.exit_waiter_ == this) group.exit_waiter_ = nullptr;
    }
    bool await_ready() const noexcept { return group.pending_ == 0; }
    template <class P>
    void await_suspend(detail::coroutine_handle<P> h) {
        begin_wait(h);
        group.exit_waiter_ = this;
        suspend();
    }
    void await_resume();  // throws what the group ends with
    bool cancel_wait() override;
    void wake();

    TaskGroup& group;
};

namespace detail {
template <class F>
using task_group_result_t = typename std::invoke_result_t<F&, TaskGroup&>::value_type;
}

// co_await task_group([&](TaskGroup& tg) -> Coro<> { tg.create_task(work()); ... });
// The body may return a value (Coro<R>): task_group then returns it.
template <class F>
Coro<detail::task_group_result_t<F>> task_group(F body) {
    using R = detail::task_group_result_t<F>;
    TaskGroup group(detail::current_task_ref("task_group()"));
    std::exception_ptr body_error;
    detail::Maybe<R> result;
    try {
        if constexpr (std::is_void_v<R>) {
            co_await body(group);
            result.emplace();
        } else {
            result.emplace(co_await body(group));
        }
    } catch (...) {
        body_error = std::current_exception();
    }
    co_await group.exit(body_error);
    co_return result.take();
}

}  // namespace corio
