// Exception types and the throw helpers the headers call, kept out of line so that the
// templates stay small and the messages are formatted in one place.
#include <fmt/format.h>

#include <typeinfo>

#include "corio/async_generator.hpp"
#include "corio/coro.hpp"
#include "corio/detail/parked_waiter.hpp"
#include "corio/detail/timeout_scope.hpp"
#include "corio/detail/future_awaiter.hpp"
#include "corio/errors.hpp"
#include "corio/future.hpp"
#include "corio/task.hpp"

namespace corio {

ExceptionGroup::ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions)
    : message_(std::move(message)), exceptions_(std::move(exceptions)) {
    what_ = fmt::format("{} ({} sub-exception{})", message_, exceptions_.size(), exceptions_.size() == 1 ? "" : "s");
    for (std::size_t i = 0; i < exceptions_.size(); ++i)
        what_ += fmt::format("\n  [{}] {}", i + 1, detail::describe(exceptions_[i]));
}

namespace detail {

std::string describe(const std::exception_ptr& e) {
    if (!e) return "no exception";
    try {
        std::rethrow_exception(e);
    } catch (const CancelledError& c) {
        return c.message().empty() ? std::string("CancelledError") : fmt::format("CancelledError: {}", c.message());
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an exception of a type not derived from std::exception";
    }
}

bool is_cancellation(const std::exception_ptr& e) noexcept {
    if (!e) return false;
#if defined(__GLIBCXX__) && defined(__cpp_rtti)
    // CancelledError is final, so its exact type is the whole test.
    if (const std::type_info* t = e.__cxa_exception_type()) return *t == typeid(CancelledError);
#endif
    try {
        std::rethrow_exception(e);
    } catch (const CancelledError&) {
        return true;
    } catch (...) {
        return false;
    }
}

void throw_value_moved_out() {
    throw InvalidStateError(
        "the result was already moved out (a move-only result can be taken by one reader only)");
}

void throw_empty_coro() {
    throw InvalidStateError("co_await on an empty Coro (it was moved from, or default-constructed)");
}

void throw_reused_coro(const char* function) {
    throw RuntimeError(fmt::format("cannot reuse already awaited coroutine '{}': a Coro runs once; "
                                   "make it a Task to await its result several times",
                                   function));
}

void throw_empty_handle(const char* what) {
    throw InvalidStateError(fmt::format("{}: this handle is empty (default-constructed or moved from)", what));
}

void throw_await_self(const TaskBase& t) {
    throw RuntimeError(fmt::format("Task '{}' cannot await itself: that would wait forever", t.name()));
}

void throw_other_loop() {
    throw RuntimeError("awaited a Task or Future that belongs to a different event loop");
}

void throw_no_running_loop(const char* what) {
    throw RuntimeError(fmt::format("{} needs a running event loop: call it inside a coroutine run by corio::run()", what));
}

void throw_bad_create_task(bool empty, const char* function) {
    if (empty) throw InvalidStateError("create_task() got an empty Coro (moved from, or default-constructed)");
    throw RuntimeError(fmt::format("create_task(): coroutine '{}' was already started; a Coro runs once", function));
}

void throw_timeout(std::int64_t ns) {
    throw TimeoutError(fmt::format("wait_for() timed out after {:.3f} s", static_cast<double>(ns) * 1e-9));
}

void throw_generator_running(const char* what) {
    throw RuntimeError(fmt::format("AsyncGenerator::{}: the generator is already running (another task is inside it)", what));
}

void throw_generator_ignored_exit() {
    throw RuntimeError("async generator ignored GeneratorExit: it yielded again after aclose()");
}

void ParkedWaiter::throw_orphaned() {
    if (take_cancel()) throw_cancelled();
    throw RuntimeError(fmt::format("the {} this task was waiting on was destroyed while it waited "
                                   "(it must outlive the tasks that wait on it)",
                                   orphaned_by_));
}

void throw_future_done(const char* what) {
    throw InvalidStateError(fmt::format("Future.{}(): invalid state: the future is already done", what));
}

}  // namespace detail
}  // namespace corio
