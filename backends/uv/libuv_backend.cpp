// libuv backend: one uv_timer for the loop's next deadline, one uv_async for wake-ups.
// The core keeps its own timer heap; libuv only has to sleep until the earliest deadline.
#include <uv.h>

#include <fmt/format.h>

#include "corio/backends/libuv.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"
#include "corio/run.hpp"

namespace corio::backends {

namespace {

void check(int rc, const char* what) {
    if (rc < 0) throw RuntimeError(fmt::format("libuv: {} failed: {}", what, uv_strerror(rc)));
}

class LibuvBackend final : public Backend {
public:
    explicit LibuvBackend(uv_loop_t* external) : uv_(external), owned_(external == nullptr) {}
    ~LibuvBackend() override {
        close();
        if (owned_ && uv_) {
            uv_loop_close(uv_);
            delete uv_;
        }
    }

    const char* name() const noexcept override { return "libuv"; }
    uv_loop_t* uv() const noexcept { return uv_; }

    void open(EventLoop&) override {
        if (open_) throw RuntimeError("this libuv backend is already in use by another event loop");
        if (!uv_) {
            uv_ = new uv_loop_t;
            if (int rc = uv_loop_init(uv_); rc < 0) {
                delete uv_;
                uv_ = nullptr;
                check(rc, "uv_loop_init");
            }
        }
        // Handles live on the heap until their close callbacks ran (libuv's rule).
        timer_ = new uv_timer_t;
        async_ = new uv_async_t;
        check(uv_timer_init(uv_, timer_), "uv_timer_init");
        check(uv_async_init(uv_, async_, [](uv_async_t*) {}), "uv_async_init");
        open_ = true;
    }

    void close() noexcept override {
        if (!open_) return;
        open_ = false;
        int closing = 2;
        timer_->data = async_->data = &closing;
        auto on_closed = [](uv_handle_t* h) {
            --*static_cast<int*>(h->data);
            if (h->type == UV_TIMER)
                delete reinterpret_cast<uv_timer_t*>(h);
            else
                delete reinterpret_cast<uv_async_t*>(h);
        };
        uv_close(reinterpret_cast<uv_handle_t*>(timer_), on_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(async_), on_closed);
        timer_ = nullptr;
        async_ = nullptr;
        while (closing > 0) uv_run(uv_, UV_RUN_NOWAIT);
        if (owned_) {
            // Let whatever else was started on our own loop finish closing.
            while (uv_run(uv_, UV_RUN_NOWAIT) != 0) {
            }
        }
    }

    std::int64_t now() noexcept override { return static_cast<std::int64_t>(uv_hrtime()); }

    void wait(std::int64_t deadline) override {
        if (deadline == detail::kNoDeadline) {
            uv_run(uv_, UV_RUN_ONCE);
            return;
        }
        std::int64_t remaining = deadline - now();
        if (remaining <= 0) {
            uv_run(uv_, UV_RUN_NOWAIT);
            return;
        }
        // libuv's timers count whole milliseconds: round up, never wake before the deadline.
        auto ms = static_cast<std::uint64_t>((remaining + 999'999) / 1'000'000);
        uv_update_time(uv_);
        // libuv runs due timers *before* it polls, so a timer that is already due when the
        // iteration starts would fire and then leave UV_RUN_ONCE polling with no timeout:
        // the callback stops the loop, which makes that poll return at once.
        uv_timer_start(timer_, [](uv_timer_t* t) { uv_stop(t->loop); }, ms, 0);
        uv_run(uv_, UV_RUN_ONCE);
        uv_timer_stop(timer_);
    }

    void poll() override { uv_run(uv_, UV_RUN_NOWAIT); }

    void wake() noexcept override { uv_async_send(async_); }

private:
    uv_loop_t* uv_;
    bool owned_;
    bool open_ = false;
    uv_timer_t* timer_ = nullptr;
    uv_async_t* async_ = nullptr;
};

}  // namespace

// to_thread runs on the loop's own pool, not on libuv's: libuv's pool is sized once per
// process from UV_THREADPOOL_SIZE, which corio would have to setenv() while other threads
// may read the environment. libuv's pool keeps serving DNS and file system requests.
std::shared_ptr<Backend> libuv() {
    return std::make_shared<LibuvBackend>(nullptr);
}

std::shared_ptr<Backend> libuv(uv_loop_t* loop) {
    if (!loop) throw ValueError("corio::backends::libuv(loop): loop is null; call libuv() for a loop of corio's own");
    return std::make_shared<LibuvBackend>(loop);
}

uv_loop_t* uv_loop_of(Backend& backend) noexcept {
    auto* b = dynamic_cast<LibuvBackend*>(&backend);
    return b ? b->uv() : nullptr;
}

}  // namespace corio::backends

namespace corio::detail {
std::shared_ptr<Backend> default_backend() { return backends::libuv(); }
}  // namespace corio::detail
