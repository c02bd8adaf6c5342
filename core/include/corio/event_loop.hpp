// The event loop: a FIFO ready queue of task steps and callbacks, a timer heap, and a
// backend that waits for time, wake-ups and I/O. Single-threaded; the only ways in from
// other threads are call_soon_threadsafe() and what is built on it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "corio/backend.hpp"
#include "corio/detail/coroutine.hpp"
#include "corio/detail/duration.hpp"
#include "corio/detail/loop_core.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/handle.hpp"

namespace corio {

namespace detail {
class ThreadPool;
// The scheduler of `loop`, for corio's awaitables and backends.
inline LoopCore& core(EventLoop& loop) noexcept;
}
template <class T>
class Coro;
template <class T>
class Task;
template <class T>
class Future;

// What the loop's exception handler receives, as asyncio's context dict.
struct ExceptionContext {
    std::string message;
    std::exception_ptr exception;  // may be empty
    Task<void>* task = nullptr;    // the task concerned, if any (valid during the call)
};

// The default handler's text for `context`: the message, then `task: <Task ...>` and
// `exception: <type>: <what()>` lines, as asyncio's default_exception_handler prints them.
std::string format_exception_context(const ExceptionContext& context);

class EventLoop : private detail::LoopCore {
public:
    struct Options {
        bool debug = false;
        std::chrono::nanoseconds slow_callback_duration = std::chrono::milliseconds(100);
    };

    EventLoop(std::shared_ptr<Backend> backend, Options options);
    explicit EventLoop(std::shared_ptr<Backend> backend) : EventLoop(std::move(backend), Options{}) {}
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // --- asyncio's loop surface ---------------------------------------------------------
    // The loop's clock in seconds (monotonic; virtual under the virtual-time backend).
    double time() const noexcept { return static_cast<double>(backend_->now()) * 1e-9; }

    template <class F>
    Handle call_soon(F&& f) {
        check_thread("call_soon");
        if (closed_) throw_closed("call_soon");
        auto* cb = new detail::CallbackFn<std::decay_t<F>>(*this, std::forward<F>(f));
        cb->ref();  // one for the queue, one for the handle
        push_ready({nullptr, static_cast<detail::Callback*>(cb)});
        return Handle(cb);
    }

    template <class Rep, class Period, class F>
    TimerHandle call_later(std::chrono::duration<Rep, Period> delay, F&& f) {
        check_thread("call_later");
        if (closed_) throw_closed("call_later");
        return add_callback_timer(detail::deadline_after(clock_ns(), detail::to_ns(delay)),
                                  new detail::CallbackFn<std::decay_t<F>>(*this, std::forward<F>(f)));
    }

    // `when` is in time()'s scale; an infinite or huge `when` never fires, and NaN is a
    // ValueError.
    template <class F>
    TimerHandle call_at(double when, F&& f) {
        check_thread("call_at");
        if (closed_) throw_closed("call_at");
        const std::int64_t deadline = deadline_of(when);
        return add_callback_timer(deadline, new detail::CallbackFn<std::decay_t<F>>(*this, std::forward<F>(f)));
    }

    // From any thread. Throws RuntimeError once the loop is closed.
    template <class F>
    void call_soon_threadsafe(F&& f) {
        post_threadsafe(new detail::CallbackFn<std::decay_t<F>>(*this, std::forward<F>(f)));
    }

    // `at` is the caller's location; debug mode keeps it for the task's diagnostics.
    template <class T>
    Task<T> create_task(Coro<T> coro, std::string name = {},
                        detail::SourceLocation at = detail::SourceLocation::current());
    template <class T = void>
    Future<T> create_future();

    bool get_debug() const noexcept { return debug_; }
    void set_debug(bool on) noexcept;
    std::chrono::nanoseconds slow_callback_duration() const noexcept { return slow_callback_; }
    void set_slow_callback_duration(std::chrono::nanoseconds d) noexcept { slow_callback_ = d; }
    // Writes a Chrome trace-event JSON file (Perfetto, chrome://tracing) of what this loop
    // runs from now on: a track per task, a slice per step, instants for creation,
    // cancellation and completion, flows from where a timer was set to the step it woke.
    // RuntimeError if the file cannot be written. corio::run does it for RunOptions::trace_path.
    void start_tracing(const std::string& path);
    // Completes and closes the trace file; close() does it too.
    void stop_tracing() noexcept;
    bool is_tracing() const noexcept { return tracer_ != nullptr; }
    bool is_running() const noexcept { return running_; }
    bool is_closed() const noexcept { return closed_; }
    Backend& backend() const noexcept { return *backend_; }

    // Called for errors nobody can receive (a callback threw, a failed task was dropped).
    void call_exception_handler(const ExceptionContext& context) noexcept;
    using ExceptionHandler = std::function<void(EventLoop&, const ExceptionContext&)>;
    void set_exception_handler(ExceptionHandler handler) { exception_handler_ = std::move(handler); }
    void default_exception_handler(const ExceptionContext& context) noexcept;

    // --- running --------------------------------------------------------------------------
    // Runs until `f` is done. The loop becomes this thread's running loop meanwhile.
    void run_until_complete(detail::FutureBase& f);
    // One iteration: wait for (or poll) I/O and timers, then run what was ready at its start.
    void run_once();
    // For a host that owns the event loop (the JavaScript library build, an application's
    // own loop): polls without blocking, runs what is ready for at most about `budget`, and
    // says when to call again: 0 (work is ready now), the nanoseconds until the next timer,
    // or -1 (nothing to do until something outside wakes the backend).
    std::int64_t run_for(std::chrono::nanoseconds budget);
    // Cancels every pending task and runs until all have finished (asyncio.run's shutdown).
    void cancel_all_tasks();
    // Closes (aclose) every async generator that was started and has not finished.
    void shutdown_asyncgens();
    // Runs until all outside work has come back: to_thread jobs, corio::Hold (asyncio's
    // shutdown_default_executor).
    void wait_for_thread_jobs();
    // Destroys tasks still pending (logging each), releases the backend. Idempotent.
    void close();
    std::size_t pending_task_count() const noexcept { return task_count_; }
    // Runs job.run() on a worker thread, then job.complete() back on this loop's thread.
    void run_in_thread(ThreadJob& job);

private:
    friend class detail::LoopCore;
    friend detail::LoopCore& detail::core(EventLoop& loop) noexcept;

    TimerHandle add_callback_timer(std::int64_t deadline, detail::Callback* cb);
    static std::int64_t deadline_of(double when);
    void after_io();
    void run_ready(std::size_t n);
    void run_item(detail::ReadyItem item);
    void run_item_instrumented(detail::ReadyItem item);

    std::size_t steps_since_io_ = 0;
    std::chrono::nanoseconds slow_callback_;
    ExceptionHandler exception_handler_;
    std::unique_ptr<detail::ThreadPool> pool_;
};

// The loop running on this thread; RuntimeError when there is none.
EventLoop& get_running_loop();

namespace detail {
EventLoop* running_loop() noexcept;
void set_running_loop(EventLoop* loop) noexcept;

inline LoopCore& core(EventLoop& loop) noexcept { return loop; }
inline EventLoop& LoopCore::loop() noexcept { return static_cast<EventLoop&>(*this); }

inline void TaskBase::suspend_on(Suspension& s) {
    core(*loop_).check_resumed_by_loop(*this);
    waiting_on_ = &s;
    if (must_cancel_) [[unlikely]] {
        if (s.cancel_wait()) must_cancel_ = false;
    }
}

inline void TaskBase::wake(coroutine_handle<> h) {
    waiting_on_ = nullptr;
    core(*loop_).schedule(this, h);
}
}  // namespace detail

}  // namespace corio
