// The scheduler behind EventLoop: the ready queue, the timer heap, the trampoline, the live
// tasks and the inbox of other threads' callbacks. corio's awaitables, tasks and backends
// reach it through detail::core(loop); applications see only EventLoop's asyncio surface.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "corio/backend.hpp"
#include "corio/detail/async_gen_hook.hpp"
#include "corio/detail/coroutine.hpp"
#include "corio/detail/ready_queue.hpp"
#include "corio/detail/source_location.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/detail/timer_heap.hpp"

namespace corio {

class EventLoop;

namespace detail {

class Callback;
class Tracer;

class LoopCore {
public:
    LoopCore(const LoopCore&) = delete;
    LoopCore& operator=(const LoopCore&) = delete;

    inline EventLoop& loop() noexcept;
    Backend& backend() const noexcept { return *backend_; }
    std::int64_t clock_ns() const noexcept { return backend_->now(); }
    bool debug() const noexcept { return debug_; }
    bool closed() const noexcept { return closed_; }

    // --- the ready queue and the trampoline -----------------------------------------------
    // `h` (a frame of task `t`) runs in a later step.
    void schedule(TaskBase* t, coroutine_handle<> h) { push_ready({t, h.address()}); }
    void schedule_callback(Callback* cb) { push_ready({nullptr, cb}); }
    // Control passes from the running frame of `t` to `h` (a child it awaits, or the parent
    // a finished child returns to) through the trampoline, not a nested resume(), so a chain
    // of synchronously completing awaits never grows the stack. A frame resumed outside the
    // loop (a callback that called resume() itself) has no trampoline under it: the step is
    // queued instead, and debug mode reports it.
    void transfer(TaskBase* t, coroutine_handle<> h) {
        if (current_ == t) [[likely]] {
            next_ = h;
            return;
        }
        transfer_outside(t, h);
    }
    // Debug mode: a task suspends while the loop is not running it (see transfer).
    void check_resumed_by_loop(const TaskBase& t) noexcept {
        if (debug_ && current_ != &t) [[unlikely]]
            report_resumed_outside(t);
    }

    // --- timers ---------------------------------------------------------------------------
    void add_timer(TimerNode& n, std::int64_t deadline) {
        timers_.push(n, deadline);
        if (tracer_) [[unlikely]] {
            const auto track = current_ ? static_cast<std::uint32_t>(current_->id()) : 0u;
            trace_timer_set(n, track, track);  // a task's own timer wakes that task
        }
    }
    void remove_timer(TimerNode& n) noexcept {
        timers_.remove(n);
        if (tracer_) [[unlikely]]
            trace_timer_removed(n);
    }

    // --- tasks ------------------------------------------------------------------------------
    TaskBase* current_task_ptr() const noexcept { return current_; }
    TaskBase* first_task() const noexcept { return tasks_head_; }
    std::size_t task_count() const noexcept { return task_count_; }
    std::uint64_t next_task_id() noexcept { return ++task_ids_; }
    void link_task(TaskBase* t) noexcept {
        t->next_in_loop = tasks_head_;
        if (tasks_head_) tasks_head_->prev_in_loop = t;
        tasks_head_ = t;
        ++task_count_;
    }
    void unlink_task(TaskBase* t) noexcept {
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
    // Task creation's diagnostics (debug mode, tracing); `at` is where create_task was called.
    void note_task_created(TaskBase& t, SourceLocation at) noexcept {
        if (instrumented_) [[unlikely]]
            on_task_created(t, at);
    }
    // TaskBase::cancel tells the tracer (an instant on the task's track).
    void note_cancel(const TaskBase& t) noexcept {
        if (tracer_) [[unlikely]]
            trace_cancel(t);
    }
    AsyncGenHook::List& async_generators() noexcept { return asyncgens_; }

    // --- work outside the loop ------------------------------------------------------------
    // Work in flight outside the loop (to_thread jobs, corio::Hold): run() waits for it before
    // closing the loop, and virtual time does not jump the clock while there is any (its
    // completion may come first). Loop's thread only.
    std::size_t external_work() const noexcept { return external_work_; }
    void add_external_work() noexcept { ++external_work_; }
    void remove_external_work() noexcept { --external_work_; }
    // Called by the backend (or the portable pool) on the loop's thread when a job ran.
    void finish_thread_job(ThreadJob& job) noexcept {
        --external_work_;
        job.complete();
    }

    // RuntimeError when called from a thread other than the loop's (debug mode only).
    void check_thread(const char* what) const {
        if (debug_) [[unlikely]]
            check_thread_slow(what);
    }
    bool on_loop_thread() const noexcept { return std::this_thread::get_id() == thread_; }
    [[noreturn]] static void throw_closed(const char* what);

protected:
    explicit LoopCore(std::shared_ptr<Backend> backend);
    ~LoopCore();

    // Every way onto the ready queue: callbacks posted from other threads go first, so that
    // call_soon_threadsafe keeps FIFO order with call_soon as asyncio's does.
    void push_ready(ReadyItem item) {
        if (inbox_pending_.load(std::memory_order_acquire)) [[unlikely]]
            drain_inbox();
        ready_.push(item);
    }
    void post_threadsafe(Callback* cb);
    void drain_inbox();
    void check_thread_slow(const char* what) const;
    void transfer_outside(TaskBase* t, coroutine_handle<> h);
    void report_resumed_outside(const TaskBase& t) noexcept;
    void on_task_created(TaskBase& t, SourceLocation at) noexcept;
    void trace_task_done(const TaskBase& t) noexcept;
    void trace_cancel(const TaskBase& t) noexcept;
    // Tracks are task ids, 0 for callbacks: `from` sets the timer, `to` runs when it fires.
    void trace_timer_set(const TimerNode& n, std::uint32_t from, std::uint32_t to) noexcept;
    void trace_timer_removed(const TimerNode& n) noexcept;
    void step(TaskBase* t, void* frame) {
        current_ = t;
        if (t->started() || t->start()) {
            coroutine_handle<>::from_address(frame).resume();
            // The trampoline: see transfer().
            while (next_) {
                auto n = next_;
                next_ = nullptr;
                n.resume();
            }
        }
        current_ = nullptr;
    }

    std::shared_ptr<Backend> backend_;
    ReadyQueue ready_;
    TimerHeap timers_;
    coroutine_handle<> next_;
    TaskBase* current_ = nullptr;
    TaskBase* tasks_head_ = nullptr;
    std::size_t task_count_ = 0;
    std::uint64_t task_ids_ = 0;
    std::size_t external_work_ = 0;
    bool debug_ = false;
    bool instrumented_ = false;  // debug or tracing: the slow path of run_item
    bool closed_ = false;
    bool running_ = false;
    std::thread::id thread_;
    AsyncGenHook::List asyncgens_;
    std::unique_ptr<Tracer> tracer_;  // empty unless tracing

    // call_soon_threadsafe's inbox; `closed` makes late posts fail instead of touching a
    // backend that is gone.
    std::mutex inbox_mutex_;
    std::vector<Callback*> inbox_;
    bool inbox_closed_ = false;
    std::atomic<bool> inbox_pending_{false};
};

}  // namespace detail
}  // namespace corio
