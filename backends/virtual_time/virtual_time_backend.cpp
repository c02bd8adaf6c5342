// Virtual time: wait(deadline) sets the clock to the deadline instead of sleeping. Only
// real work outside the loop (to_thread jobs, call_soon_threadsafe) makes it block, on a
// condition variable, until that work wakes it.
#include <condition_variable>
#include <mutex>

#include "corio/backends/virtual_time.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"

namespace corio::backends {

namespace {

class VirtualTimeBackend final : public Backend {
public:
    const char* name() const noexcept override { return "virtual_time"; }

    void open(EventLoop& loop) override {
        std::lock_guard lock(mutex_);
        if (loop_) throw RuntimeError("this virtual-time backend is already in use by another event loop");
        loop_ = &loop;
        woken_ = false;
    }
    void close() noexcept override {
        std::lock_guard lock(mutex_);
        loop_ = nullptr;
    }

    std::int64_t now() noexcept override { return now_; }

    void wait(std::int64_t deadline) override {
        std::unique_lock lock(mutex_);
        if (woken_) {
            woken_ = false;
            return;
        }
        // A due timer fires at once; the clock jumps forward only when nothing outside the
        // loop (a to_thread job) could still deliver work first.
        if (deadline != detail::kNoDeadline && (deadline <= now_ || detail::core(*loop_).external_work() == 0)) {
            if (deadline > now_) now_ = deadline;
            return;
        }
        cv_.wait(lock, [&] { return woken_; });
        woken_ = false;
    }

    void poll() override {
        std::lock_guard lock(mutex_);
        woken_ = false;
    }

    void wake() noexcept override {
        {
            std::lock_guard lock(mutex_);
            woken_ = true;
        }
        cv_.notify_one();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool woken_ = false;
    EventLoop* loop_ = nullptr;
    std::int64_t now_ = 0;  // only the loop's thread reads or moves it
};

}  // namespace

std::shared_ptr<Backend> virtual_time() { return std::make_shared<VirtualTimeBackend>(); }

}  // namespace corio::backends
