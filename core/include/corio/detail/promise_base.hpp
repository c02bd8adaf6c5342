// The part of every corio coroutine promise the scheduler relies on: which task runs the
// coroutine, who awaits it, its exception, and where it was defined (for diagnostics).
#pragma once

#include <cstdint>
#include <exception>
#include <type_traits>

#include "corio/detail/coroutine.hpp"
#include "corio/detail/source_location.hpp"

namespace corio::detail {

class TaskBase;

class PromiseBase {
public:
    explicit PromiseBase(SourceLocation at) noexcept : function_(at.function), file_(at.file), line_(at.line) {}
    suspend_always initial_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    TaskBase* task_ = nullptr;          // set when the coroutine starts
    coroutine_handle<> continuation_;  // the awaiting coroutine; empty for a task's root
    std::exception_ptr exception_;
    const char* function_;
    const char* file_;
    std::uint32_t line_;
};

template <class P>
inline constexpr bool is_corio_promise = std::is_base_of_v<PromiseBase, P>;

// The task running the coroutine `h` is suspending; corio's awaitables work only in corio
// coroutines (Coro, AsyncGenerator), which always run inside a task.
template <class P>
TaskBase* task_of(coroutine_handle<P> h) noexcept {
    static_assert(is_corio_promise<P>, "corio awaitables can only be awaited inside corio::Coro coroutines");
    return h.promise().task_;
}

}  // namespace corio::detail
