// The part of every corio coroutine promise the scheduler relies on: which task runs the
// coroutine, who awaits it, its exception, and where it was defined (for diagnostics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <type_traits>

#include "corio/detail/coroutine.hpp"
#include "corio/detail/frame_pool.hpp"
#include "corio/detail/source_location.hpp"

namespace corio::detail {

class TaskBase;

class PromiseBase {
public:
    explicit PromiseBase(SourceLocation at) noexcept : function_(at.function), file_(at.file), line_(at.line) {}
    suspend_always initial_suspend() noexcept { return {}; }

    // Frames come from the per-thread pool (see frame_pool.hpp): no malloc per coroutine.
    static void* operator new(std::size_t n) { return pool_allocate(frame_block_size(n), BlockKind::frame); }
    static void operator delete(void* p, std::size_t n) noexcept {
        pool_deallocate(p, frame_block_size(n), BlockKind::frame);
    }
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

// The PromiseBase of a corio frame known only by its address (a continuation_, a task's
// innermost frame, the handle a sleep keeps). Sound because every corio promise has
// PromiseBase at offset 0 (its first, non-polymorphic base) and an alignment of at most two
// pointers: the promise then sits right after the frame's resume and destroy pointers
// whatever its type, on gcc and clang alike. Each promise static_asserts the alignment.
inline constexpr std::size_t kMaxPromiseAlign = 2 * alignof(void*);
inline PromiseBase& promise_at(void* frame) noexcept {
    return coroutine_handle<PromiseBase>::from_address(frame).promise();
}

}  // namespace corio::detail
