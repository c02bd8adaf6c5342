// gather: run awaitables concurrently and collect their results in argument order.
// Coros become tasks at once; Tasks are used as they are. Without return_exceptions the
// first failure cancels the other children and waits until they have finished before it
// is rethrown (they may point into the caller's frame). Cancelling the awaiting task
// cancels every child.
#pragma once

#include <array>
#include <cstddef>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "corio/coro.hpp"
#include "corio/detail/future_base.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/waiting.hpp"
#include "corio/outcome.hpp"
#include "corio/task.hpp"

namespace corio {

struct ReturnExceptions {
    explicit constexpr ReturnExceptions() = default;
};
// Pass first to gather to get an Outcome<T> per child instead of the first exception.
inline constexpr ReturnExceptions return_exceptions{};

namespace detail {

template <class A>
struct gather_child;
template <class T>
struct gather_child<Coro<T>> {
    using type = T;
};
template <class T>
struct gather_child<Task<T>> {
    using type = T;
};
template <class A>
using gather_child_t = typename gather_child<std::remove_cvref_t<A>>::type;

template <class T>
Task<T> to_task(Coro<T>&& c) {
    return create_task(std::move(c));
}
template <class T>
Task<T> to_task(const Task<T>& t) {
    if (!t) throw_empty_handle("gather");
    return t;
}

// void results are std::monostate in a tuple.
template <class T>
using gather_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
gather_value_t<T> take_value(const Task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        take_task_result(t);
        return {};
    } else {
        return take_task_result(t);
    }
}

template <class T>
Outcome<T> take_outcome(const Task<T>& t) {
    TaskBase& b = *t.base();
    b.mark_retrieved();
    if (b.stored_exception()) return Outcome<T>(b.stored_exception());
    if constexpr (std::is_void_v<T>)
        return Outcome<void>();
    else
        return Outcome<T>(take_task_result(t));
}

// The bookkeeping shared by every shape of gather: counting, first error, cancellation.
class GatherBase : public Waiting {
public:
    GatherBase(const GatherBase&) = delete;
    GatherBase& operator=(const GatherBase&) = delete;

protected:
    struct Child final : FutureWaiter {
        Child() = default;
        Child(const Child&) noexcept : FutureWaiter() {}
        GatherBase* owner = nullptr;
        TaskBase* task = nullptr;
        void on_future_done(FutureBase&) override { owner->child_done(*this); }
        TaskBase* waiting_task() const noexcept override { return owner ? owner->task_ : nullptr; }
    };

    explicit GatherBase(bool return_exceptions) noexcept : return_exceptions_(return_exceptions) {}
    ~GatherBase() = default;

    void attach(Child* children, std::size_t n) noexcept {
        children_ = children;
        n_ = n;
        for (std::size_t i = 0; i < n; ++i) children[i].owner = this;
    }
    bool ready();
    template <class P>
    void wait_for_children(coroutine_handle<P> h) {
        begin_wait(h);
        register_children();
        suspend();
    }
    void check_resume();
    bool cancel_wait() override;
    // Derived destructors call this while their children still exist (a frame destroyed
    // mid-gather must leave no waiter behind in a child task).
    void unregister() noexcept;

private:
    void register_children() noexcept;
    void child_done(Child& c);
    void note_result(TaskBase& t);
    void cancel_pending(const std::string& msg);

    Child* children_ = nullptr;
    std::size_t n_ = 0;
    std::size_t remaining_ = 0;
    bool return_exceptions_;
    bool cancel_requested_ = false;
    std::exception_ptr first_error_;
};

template <bool ReturnExc, class... Ts>
class GatherAwaiter final : public GatherBase {
public:
    explicit GatherAwaiter(Task<Ts>... tasks) : GatherBase(ReturnExc), tasks_(std::move(tasks)...) { bind(); }
    GatherAwaiter(GatherAwaiter&& o) noexcept : GatherBase(ReturnExc), tasks_(std::move(o.tasks_)) { bind(); }
    ~GatherAwaiter() { unregister(); }

    bool await_ready() { return ready(); }
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        wait_for_children(h);
    }
    auto await_resume() {
        check_resume();
        return collect(std::index_sequence_for<Ts...>{});
    }

private:
    void bind() noexcept {
        std::apply([&](auto&... t) { std::size_t i = 0; ((children_[i++].task = t.base()), ...); }, tasks_);
        attach(children_.data(), sizeof...(Ts));
    }
    template <std::size_t... I>
    auto collect(std::index_sequence<I...>) {
        if constexpr (ReturnExc)
            return std::tuple<Outcome<Ts>...>(take_outcome(std::get<I>(tasks_))...);
        else
            return std::tuple<gather_value_t<Ts>...>(take_value(std::get<I>(tasks_))...);
    }

    std::tuple<Task<Ts>...> tasks_;
    std::array<Child, sizeof...(Ts)> children_;
};

template <bool ReturnExc, class T>
class VectorGatherAwaiter final : public GatherBase {
public:
    explicit VectorGatherAwaiter(std::vector<Task<T>> tasks)
        : GatherBase(ReturnExc), tasks_(std::move(tasks)), children_(tasks_.size()) {
        bind();
    }
    VectorGatherAwaiter(VectorGatherAwaiter&& o) noexcept
        : GatherBase(ReturnExc), tasks_(std::move(o.tasks_)), children_(tasks_.size()) {
        bind();
    }
    ~VectorGatherAwaiter() { unregister(); }

    bool await_ready() { return ready(); }
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        wait_for_children(h);
    }
    auto await_resume() {
        check_resume();
        if constexpr (ReturnExc) {
            std::vector<Outcome<T>> out;
            out.reserve(tasks_.size());
            for (auto& t : tasks_) out.push_back(take_outcome(t));
            return out;
        } else if constexpr (std::is_void_v<T>) {
            for (auto& t : tasks_) take_task_result(t);
        } else {
            std::vector<T> out;
            out.reserve(tasks_.size());
            for (auto& t : tasks_) out.push_back(take_task_result(t));
            return out;
        }
    }

private:
    void bind() noexcept {
        for (std::size_t i = 0; i < tasks_.size(); ++i) children_[i].task = tasks_[i].base();
        attach(children_.data(), children_.size());
    }
    std::vector<Task<T>> tasks_;
    std::vector<Child> children_;
};

template <class T>
std::vector<Task<T>> to_tasks(std::vector<Coro<T>>&& coros) {
    std::vector<Task<T>> tasks;
    tasks.reserve(coros.size());
    for (auto& c : coros) tasks.push_back(create_task(std::move(c)));
    return tasks;
}

}  // namespace detail

// co_await gather(a, b, c) -> std::tuple<A, B, C> (void -> std::monostate). The children
// start in argument order: braces, unlike parentheses, evaluate the arguments (and so
// create the tasks) left to right on every compiler.
template <class... As>
auto gather(As&&... children) {
    return detail::GatherAwaiter<false, detail::gather_child_t<As>...>{detail::to_task(std::forward<As>(children))...};
}
// co_await gather(return_exceptions, a, b) -> std::tuple<Outcome<A>, Outcome<B>>.
template <class... As>
auto gather(ReturnExceptions, As&&... children) {
    return detail::GatherAwaiter<true, detail::gather_child_t<As>...>{detail::to_task(std::forward<As>(children))...};
}

// co_await gather(std::vector<Coro<T>>) -> std::vector<T> (void when T is void).
template <class T>
auto gather(std::vector<Coro<T>> coros) {
    return detail::VectorGatherAwaiter<false, T>(detail::to_tasks(std::move(coros)));
}
template <class T>
auto gather(std::vector<Task<T>> tasks) {
    return detail::VectorGatherAwaiter<false, T>(std::move(tasks));
}
template <class T>
auto gather(ReturnExceptions, std::vector<Coro<T>> coros) {
    return detail::VectorGatherAwaiter<true, T>(detail::to_tasks(std::move(coros)));
}
template <class T>
auto gather(ReturnExceptions, std::vector<Task<T>> tasks) {
    return detail::VectorGatherAwaiter<true, T>(std::move(tasks));
}

}  // namespace corio
