// The interface between the scheduler core and what drives it (libuv, the browser, virtual
// time). A backend keeps time, waits for a deadline or a wake-up or I/O, and can be woken
// from any thread. It needs no change in the core to add one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace corio {

class EventLoop;

// A blocking call to make off the loop's thread (to_thread). run() happens on a worker
// thread; the backend then calls EventLoop::finish_thread_job(job) on the loop's thread.
class ThreadJob {
public:
    virtual void run() noexcept = 0;
    virtual void complete() noexcept = 0;  // on the loop's thread, last use of the job

protected:
    ~ThreadJob() = default;
};

class Backend {
public:
    virtual ~Backend() = default;

    // A short name for messages and tests: "libuv", "virtual_time", "browser".
    virtual const char* name() const noexcept = 0;

    // The loop starts (open) and stops (close) using this backend. A backend may be opened
    // again after it was closed, by a later corio::run().
    virtual void open(EventLoop& loop) = 0;
    virtual void close() noexcept = 0;

    // Monotonic time in nanoseconds; the zero point is the backend's own.
    virtual std::int64_t now() noexcept = 0;

    // Real monotonic time in nanoseconds, for run_for's budget (which is real time also
    // under virtual time). A backend with a cheaper clock than steady_clock overrides it.
    virtual std::int64_t real_now() noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }

    // Blocks until `deadline` (a now() value; detail::kNoDeadline: no limit) has passed, or
    // wake() was called, or I/O completed; runs the I/O callbacks that are due.
    virtual void wait(std::int64_t deadline) = 0;

    // Runs the I/O callbacks that are due without blocking.
    virtual void poll() = 0;

    // Makes a blocked wait() return soon. Safe from any thread while the backend is open.
    virtual void wake() noexcept = 0;

    // Runs `job` on the backend's own thread pool and returns true, or returns false to let
    // the loop use its portable pool (std::thread).
    virtual bool submit(ThreadJob& job) {
        (void)job;
        return false;
    }
};

}  // namespace corio
