// Task<T>: a coroutine scheduled on the loop, and a copyable, reference-counted handle to it
// with asyncio's methods. Task<> (Task<void>) also refers to a task of any result type:
// awaiting it waits and rethrows; current_task() returns one.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "corio/coro.hpp"
#include "corio/detail/future_awaiter.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/event_loop.hpp"

namespace corio {

template <class T = void>
class Task;

namespace detail {

template <class T>
class TaskImpl final : public TaskBase, public ValueSlot<T> {
public:
    TaskImpl(EventLoop& loop, coroutine_handle<Promise<T>> root, std::uint64_t id) noexcept : TaskBase(loop, root, id) {}

    // Tasks come from the same per-thread pool as frames. `delete this` in unref() reaches
    // this sized operator delete through the virtual destructor.
    static void* operator new(std::size_t n) { return pool_allocate(block(n), BlockKind::task); }
    static void operator delete(void* p, std::size_t n) noexcept { pool_deallocate(p, block(n), BlockKind::task); }
    // Over-aligned results (alignas(32) T) bypass the pool, whose blocks are 16-aligned.
    static void* operator new(std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
    static void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { ::operator delete(p, a); }
    static constexpr std::size_t block(std::size_t n) noexcept {
        constexpr std::size_t a = alignof(TaskImpl) < 8 ? 8 : alignof(TaskImpl);
        return (n + a - 1) & ~(a - 1);
    }

    SourceLocation root_location() const noexcept override {
        const PromiseBase& p = coroutine_handle<Promise<T>>::from_address(root().address()).promise();
        return SourceLocation{p.function_, p.file_, p.line_};
    }

    void finish_root(void* frame) noexcept override {
        auto h = coroutine_handle<Promise<T>>::from_address(frame);
        Promise<T>& p = h.promise();
        std::exception_ptr e = std::move(p.exception_);
        if constexpr (!std::is_void_v<T>) {
            if (!e) {
                try {
                    this->set_value(std::move(*p.value_));
                } catch (...) {
                    e = std::current_exception();
                }
            }
        }
        // asyncio: a cancellation requested during the last step still wins over the return.
        bool cancelled = false;
        if (e)
            cancelled = is_cancellation(e);
        else if (take_cancel(false))
            e = std::make_exception_ptr(make_cancelled_error()), cancelled = true;
        if (e && !cancelled) keep_location(SourceLocation{p.function_, p.file_, p.line_});
        h.destroy();
        forget_frames();
        if (e)
            store_exception(std::move(e), cancelled);
        else
            state_ = FutureState::succeeded;
        finish();
    }
};

// Makes a Task handle from a task pointer (taking a new reference).
template <class T>
Task<T> task_handle(TaskBase* t) noexcept;

[[noreturn]] void throw_no_running_loop(const char* what);
[[noreturn]] void throw_bad_create_task(bool empty, const char* function);

}  // namespace detail

template <class T>
class Task {
public:
    using value_type = T;

    Task() noexcept = default;
    Task(const Task& o) noexcept : t_(o.t_) {
        if (t_) t_->ref();
    }
    Task(Task&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    // Any task can be referred to as a Task<>.
    template <class U>
        requires(std::is_void_v<T> && !std::is_void_v<U>)
    Task(const Task<U>& o) noexcept : t_(o.base()) {
        if (t_) t_->ref();
    }
    Task& operator=(Task o) noexcept {
        std::swap(t_, o.t_);
        return *this;
    }
    ~Task() {
        if (t_) t_->unref();
    }

    explicit operator bool() const noexcept { return t_ != nullptr; }
    bool done() const { return impl().done(); }
    bool cancelled() const { return impl().cancelled(); }
    // Asks the task to cancel itself: CancelledError(msg) is thrown at its current (or next)
    // co_await. Returns false if it is already done. The task may catch it.
    bool cancel(std::string msg = {}) { return impl().cancel(std::move(msg)); }
    std::uint32_t cancelling() const { return impl().cancelling(); }
    std::uint32_t uncancel() { return impl().uncancel(); }

    // The value; rethrows the task's exception (CancelledError if it was cancelled);
    // InvalidStateError while it is not done.
    T result() const {
        impl().rethrow_if_failed();
        if constexpr (!std::is_void_v<T>) return typed().get_value(false);
    }
    // The exception, or an empty pointer after success. InvalidStateError while pending,
    // CancelledError when cancelled.
    std::exception_ptr exception() const { return impl().exception(); }

    std::string get_name() const { return impl().name(); }
    void set_name(std::string name) { impl().set_name(std::move(name)); }

    // `f(task)` is scheduled with call_soon once the task is done (at once if it is).
    template <class F>
    void add_done_callback(F f) {
        impl().add_done_callback([f = std::move(f)](detail::FutureBase& b) mutable {
            f(detail::task_handle<T>(static_cast<detail::TaskBase*>(&b)));
        });
    }

    auto operator co_await() const noexcept {
        if constexpr (std::is_void_v<T>)
            return detail::FutureAwaiter<void>(t_, nullptr);
        else
            return detail::FutureAwaiter<T>(t_, t_ ? &typed() : nullptr);
    }

    template <class U>
    bool operator==(const Task<U>& o) const noexcept {
        return base() == o.base();
    }

    detail::TaskBase* base() const noexcept { return t_; }

private:
    template <class U>
    friend Task<U> detail::task_handle(detail::TaskBase*) noexcept;
    explicit Task(detail::TaskBase* adopted) noexcept : t_(adopted) {}

    detail::TaskBase& impl() const {
        if (!t_) detail::throw_empty_handle("Task");
        return *t_;
    }
    detail::TaskImpl<T>& typed() const { return static_cast<detail::TaskImpl<T>&>(*t_); }

    detail::TaskBase* t_ = nullptr;
};

namespace detail {
template <class T>
Task<T> task_handle(TaskBase* t) noexcept {
    if (t) t->ref();
    return Task<T>(t);
}

// Moves the value out of a task that nobody else reads any more (gather's own children,
// run()'s main task); copies if another handle could still read it.
template <class T>
T take_task_result(const Task<T>& task) {
    TaskBase& b = *task.base();
    b.rethrow_if_failed();
    if constexpr (!std::is_void_v<T>) return static_cast<TaskImpl<T>&>(b).get_value(b.refs() == 1);
}
}  // namespace detail

template <class T>
Task<T> EventLoop::create_task(Coro<T> coro, std::string name, detail::SourceLocation at) {
    check_thread("create_task");
    if (closed_) throw_closed("create_task");
    if (!coro || coro.started()) detail::throw_bad_create_task(!coro, coro.function_name());
    // Everything that can throw comes before the Coro lets go of its frame, so that a
    // failure (out of memory) still destroys the frame; not reported as "never awaited":
    // the caller gets the exception.
    detail::TaskImpl<T>* t = nullptr;
    try {
        t = new detail::TaskImpl<T>(*this, coro.handle(), next_task_id());
        if (!name.empty()) t->set_name(std::move(name));
    } catch (...) {
        if (t) t->abandon();
        detail::discard(std::move(coro));
        throw;
    }
    auto h = coro.release();
    h.promise().task_ = t;
    try {
        schedule(t, h);  // the ready ring grows before it stores: a failure leaves it unchanged
    } catch (...) {
        t->abandon();
        h.destroy();
        throw;
    }
    link_task(t);
    note_task_created(*t, at);
    return detail::task_handle<T>(t);
}

// Schedules `coro` on the running loop at once (RuntimeError when no loop runs).
template <class T>
Task<T> create_task(Coro<T> coro, std::string name = {}, detail::SourceLocation at = detail::SourceLocation::current()) {
    EventLoop* loop = detail::running_loop();
    if (!loop) detail::throw_no_running_loop("create_task()");
    return loop->create_task(std::move(coro), std::move(name), at);
}

namespace detail {
template <class F>
concept coro_factory = std::is_invocable_v<F&> && requires { typename std::invoke_result_t<F&>::promise_type; };

// A lambda's captures live in the lambda object, not in the coroutine frame: calling a
// temporary lambda and keeping only the Coro leaves the coroutine reading freed captures.
// This wrapper keeps the callable in its own frame for as long as the coroutine runs.
template <class F>
std::invoke_result_t<F&> call_owned(F f) {
    co_return co_await f();
}
}  // namespace detail

// create_task([&]() -> Coro<> { ... }): the lambda itself (not its call) is passed, and lives
// as long as the task.
template <detail::coro_factory F>
auto create_task(F factory, std::string name = {}, detail::SourceLocation at = detail::SourceLocation::current()) {
    return create_task(detail::call_owned(std::move(factory)), std::move(name), at);
}

// The task running now; an empty handle outside a task.
Task<> current_task() noexcept;
// Every task of the running loop that is not done yet.
std::vector<Task<>> all_tasks();

}  // namespace corio

// Tasks in a std::unordered_set (asyncio's `background_tasks = set()`): hashed by identity.
template <class T>
struct std::hash<corio::Task<T>> {
    std::size_t operator()(const corio::Task<T>& t) const noexcept {
        return std::hash<const void*>{}(static_cast<const void*>(t.base()));
    }
};
