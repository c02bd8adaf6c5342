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
#include "corio/detail/async_gen_hook.hpp"
#include "corio/detail/coroutine.hpp"
#include "corio/detail/duration.hpp"
#include "corio/detail/ready_queue.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/handle.hpp"

namespace corio {

namespace detail {
class ThreadPool;
class Tracer;
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

class EventLoop {
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
        return add_callback_timer(detail::deadline_after(clock_ns(), detail::to_ns(delay)),
                                  new detail::CallbackFn<std::decay_t<F>>(*this, std::forward<F>(f)));
    }

    // `when` is in time()'s scale.
    template <class F>
    TimerHandle call_at(double when, F&& f) {
        check_thread("call_at");
        return add_callback_timer(static_cast<std::int64_t>(when * 1e9),
                                  new detail::CallbackFn<std::decay_t<F>>(*this, std::forward<F>(f)));
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
    void call_exception_handler(const ExceptionContext& context);
    using ExceptionHandler = std::function<void(EventLoop&, const ExceptionContext&)>;
    void set_exception_handler(ExceptionHandler handler) { exception_handler_ = std::move(handler); }
    void default_exception_handler(const ExceptionContext& context);

    // --- running --------------------------------------------------------------------------
    // Runs until `f` is done. The loop becomes this thread's running loop meanwhile.
    void run_until_complete(detail::FutureBase& f);
    // One iteration: wait for (or poll) I/O and timers, then run what was ready at its start.
    void run_once();
    // Cancels every pending task and runs until all have finished (asyncio.run's shutdown).
    void cancel_all_tasks();
    // Closes (aclose) every async generator that was started and has not finished.
    void shutdown_asyncgens();
    // Runs until every to_thread job has come back (asyncio's shutdown_default_executor).
    void wait_for_thread_jobs();
    detail::AsyncGenHook::List& async_generators() noexcept { return asyncgens_; }
    // Destroys tasks still pending (logging each), releases the backend. Idempotent.
    void close();
    std::size_t pending_task_count() const noexcept { return task_count_; }
    // Runs job.run() on a worker thread, then job.complete() back on this loop's thread.
    void run_in_thread(ThreadJob& job);
    // Called by the backend (or the portable pool) on the loop's thread when a job ran.
    void finish_thread_job(ThreadJob& job) noexcept;
    // to_thread jobs in flight. The virtual-time backend does not jump the clock while
    // there are any: their completion may come first.
    std::size_t external_work() const noexcept { return external_work_; }
    detail::TaskBase* first_task() const noexcept { return tasks_head_; }

    // --- scheduler interface of the core's awaitables (not for application code) ----------
    std::int64_t clock_ns() const noexcept { return backend_->now(); }
    void schedule(detail::TaskBase* t, detail::coroutine_handle<> h) { push_ready({t, h.address()}); }
    void set_next(detail::coroutine_handle<> h) noexcept { next_ = h; }
    void add_timer(detail::TimerNode& n, std::int64_t deadline) {
        timers_.push(n, deadline);
        if (tracer_) [[unlikely]] {
            const auto track = current_ ? static_cast<std::uint32_t>(current_->id()) : 0u;
            trace_timer_set(n, track, track);  // a task's own timer wakes that task
        }
    }
    void remove_timer(detail::TimerNode& n) noexcept {
        timers_.remove(n);
        if (tracer_) [[unlikely]]
            trace_timer_removed(n);
    }
    void schedule_callback(detail::Callback* cb) { push_ready({nullptr, cb}); }
    detail::TaskBase* current_task_ptr() const noexcept { return current_; }
    std::uint64_t next_task_id() noexcept { return ++task_ids_; }
    void link_task(detail::TaskBase* t) noexcept {
        t->next_in_loop = tasks_head_;
        if (tasks_head_) tasks_head_->prev_in_loop = t;
        tasks_head_ = t;
        ++task_count_;
    }
    void unlink_task(detail::TaskBase* t) noexcept {
        if (tracer_) [[unlikely]]
            trace_task_done(*t);
        if (t->prev_in_loop)
            t->prev_in_loop->next_in_loop = t->next_in_loop;
        else
            tasks_head_ = t->next_in_loop;
        if (t->next_in_loop) t->next_in_loop->prev_in_loop = t->prev_in_loop;
        t->prev_in_loop = t->next_in_loop = nullptr;
        --task_count_;
    }
    // Raises RuntimeError when called from a thread other than the loop's (debug mode only).
    void check_thread(const char* what) const {
        if (debug_) [[unlikely]]
            check_thread_slow(what);
    }

    [[noreturn]] static void throw_closed(const char* what);
    // TaskBase::cancel tells the tracer (an instant on the task's track).
    void note_cancel(const detail::TaskBase& t) noexcept {
        if (tracer_) [[unlikely]]
            trace_cancel(t);
    }

private:
    // Every way onto the ready queue: callbacks posted from other threads go first, so that
    // call_soon_threadsafe keeps FIFO order with call_soon as asyncio's does.
    void push_ready(detail::ReadyItem item) {
        if (inbox_pending_.load(std::memory_order_acquire)) [[unlikely]]
            drain_inbox();
        ready_.push(item);
    }
    TimerHandle add_callback_timer(std::int64_t deadline, detail::Callback* cb);
    void post_threadsafe(detail::Callback* cb);
    void check_thread_slow(const char* what) const;
    // Debug mode and tracing only (instrumented_): where the task was created, its track.
    void on_task_created(detail::TaskBase& t, detail::SourceLocation at) noexcept;
    void trace_task_done(const detail::TaskBase& t) noexcept;
    void trace_cancel(const detail::TaskBase& t) noexcept;
    // Tracks are task ids, 0 for callbacks: `from` sets the timer, `to` runs when it fires.
    void trace_timer_set(const detail::TimerNode& n, std::uint32_t from, std::uint32_t to) noexcept;
    void trace_timer_removed(const detail::TimerNode& n) noexcept;
    void after_io();
    void drain_inbox();
    void run_ready(std::size_t n);
    void run_item(detail::ReadyItem item);
    void run_item_instrumented(detail::ReadyItem item);
    void step(detail::TaskBase* t, void* frame) {
        current_ = t;
        if (t->started() || t->start()) {
            detail::coroutine_handle<>::from_address(frame).resume();
            // The trampoline: coroutines hand control to a child or back to their parent
            // through next_ instead of resuming it inside their own stack frame, so a long
            // chain of synchronously completing awaits never grows the stack.
            while (next_) {
                auto n = next_;
                next_ = nullptr;
                n.resume();
            }
        }
        current_ = nullptr;
    }

    std::shared_ptr<Backend> backend_;
    detail::ReadyQueue ready_;
    detail::TimerHeap timers_;
    detail::coroutine_handle<> next_;
    detail::TaskBase* current_ = nullptr;
    detail::TaskBase* tasks_head_ = nullptr;
    std::size_t task_count_ = 0;
    std::uint64_t task_ids_ = 0;
    std::size_t steps_since_io_ = 0;
    std::size_t external_work_ = 0;
    bool debug_ = false;
    bool instrumented_ = false;  // debug or tracing: the slow path of run_item
    bool running_ = false;
    bool closed_ = false;
    std::chrono::nanoseconds slow_callback_;
    std::thread::id thread_;
    ExceptionHandler exception_handler_;
    detail::AsyncGenHook::List asyncgens_;
    std::unique_ptr<detail::ThreadPool> pool_;
    std::unique_ptr<detail::Tracer> tracer_;  // empty unless tracing

    // call_soon_threadsafe's inbox; `closed` makes late posts fail instead of touching a
    // backend that is gone.
    std::mutex inbox_mutex_;
    std::vector<detail::Callback*> inbox_;
    bool inbox_closed_ = false;
    std::atomic<bool> inbox_pending_{false};
};

// The loop running on this thread; RuntimeError when there is none.
EventLoop& get_running_loop();

namespace detail {
EventLoop* running_loop() noexcept;
void set_running_loop(EventLoop* loop) noexcept;

inline void TaskBase::wake(coroutine_handle<> h) {
    waiting_on_ = nullptr;
    loop_->schedule(this, h);
}
}  // namespace detail

}  // namespace corio
