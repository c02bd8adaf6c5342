// The browser backend: the loop waits by suspending the wasm stack with Asyncify until a
// setTimeout, a macrotask hop or a wake-up resolves the JS promise it awaits. corio::run()
// called from main() therefore keeps its blocking signature while the page's (or Node's)
// event loop keeps running. wasm/README.md explains the choice and its limits.
#include <emscripten.h>
#include <emscripten/threading.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "corio/backends/browser.hpp"
#include "corio/http/client_session.hpp"
#include "corio/http/engine.hpp"
#include "fetch_engine.hpp"
#include "js_hop.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"
#include "corio/run.hpp"

// main() may have slept: Emscripten then drops its return value (the JS caller of main()
// returned long ago). The JS side of the backend hands it here instead; exiting through
// emscripten_force_exit also ends the Web Workers and flushes stdout (EXIT_RUNTIME).
extern "C" EMSCRIPTEN_KEEPALIVE void corio_browser_exit(int status) { emscripten_force_exit(status); }

namespace {

// Module.corio holds the JS half: `hop(f)` runs f in a later macrotask (Module.corioHop,
// js_hop.hpp), and `pending`, the resolver of
// the sleep in progress, which wake() calls. JS code may call Module.corio.wake() itself.
EM_JS(void, corio_js_setup, (), {
    if (Module.corio) return;
    Module.corio = {
        hop: Module.corioHop,
        pending: null,
        wake: function() { if (Module.corio.pending) Module.corio.pending(); }
    };
});

// Suspends the wasm stack until `ms` have passed (0: the next macrotask) or wake() runs.
// While main() has not returned to its JS caller yet, this also arranges for main's real
// return value, which Asyncify delivers only to `asyncPromiseHandlers`, to become the exit
// status (corio_browser_exit).
EM_ASYNC_JS(void, corio_js_sleep, (double ms), {
    var c = Module.corio;
    if (typeof calledMain !== 'undefined' && !calledMain && !Asyncify.asyncPromiseHandlers) {
        Asyncify.asyncPromiseHandlers = {
            resolve: function(status) { _corio_browser_exit(status | 0); },
            reject: function(e) { handleException(e); }
        };
    }
    await new Promise(function(resolve) {
        var timer = null;
        var done = function() {
            if (c.pending !== done) return;
            c.pending = null;
            if (timer !== null) clearTimeout(timer);
            resolve();
        };
        c.pending = done;
        if (ms <= 0)
            c.hop(done);
        else
            timer = setTimeout(done, ms);
    });
});

// For wake() on the main thread while the loop sleeps (called from a JS callback).
EM_JS(void, corio_js_wake, (), { Module.corio.wake(); });

// Longest setTimeout delay; a wait without deadline re-arms after it. Waiting on a timer
// (rather than on nothing) also keeps Node alive, as a blocked native loop would stay.
constexpr double kForeverMs = 2147483647.0;

// When the ready queue never empties, the loop still returns to the JS event loop at least
// this often, so the page renders and JS callbacks (I/O, wake-ups) run.
constexpr std::int64_t kYieldEveryNs = 4'000'000;

class BrowserBackend final : public corio::Backend, public corio::http::detail::HttpBackend {
public:
    const char* name() const noexcept override { return "browser"; }

    void open(corio::EventLoop&) override {
        if (open_) throw corio::RuntimeError("this browser backend is already in use by another event loop");
        on_main_ = emscripten_is_main_runtime_thread();
        if (on_main_) {
            corio::backends::browser_detail::install_js_hop();
            corio_js_setup();
        }
        open_ = true;
        woken_.store(false);
        last_yield_ = now();
    }

    void close() noexcept override { open_ = false; }

    std::int64_t now() noexcept override {
        return static_cast<std::int64_t>(emscripten_get_now() * 1e6);  // performance.now(), ms
    }

    void wait(std::int64_t deadline) override {
        if (!on_main_) return block(deadline);
        // A fetch that finished while the loop ran: no sleep (JS callbacks run only while the
        // loop sleeps, so nothing can finish between this and the sleep).
        if (corio::backends::browser_detail::drain_fetches()) return;
        const std::int64_t t = now();
        if (woken_.exchange(false, std::memory_order_acq_rel)) {
            // Work is waiting already: no sleep, unless the page is due a turn of its loop.
            if (t - last_yield_ >= kYieldEveryNs) sleep(0);
            return;
        }
        double ms = kForeverMs;
        if (deadline != corio::detail::kNoDeadline) {
            // setTimeout counts whole milliseconds: round up, never wake before the deadline.
            const double remaining = static_cast<double>(deadline - t) / 1e6;
            ms = remaining <= 0 ? 0 : std::min(kForeverMs, std::ceil(remaining));
        }
        sleep(ms);
        corio::backends::browser_detail::drain_fetches();
    }

    void poll() override {
        if (on_main_ && now() - last_yield_ >= kYieldEveryNs) sleep(0);
        if (on_main_) corio::backends::browser_detail::drain_fetches();
    }

    // corio::http on the page's (or Node's) fetch(); on the main thread only.
    std::unique_ptr<corio::http::detail::Engine> make_http_engine(const std::string&,
                                                                  const corio::http::SessionOptions& options) override {
        if (!on_main_) return nullptr;
        return corio::backends::browser_detail::make_fetch_engine(options);
    }

    void wake() noexcept override {
        if (!on_main_) {
            {
                std::lock_guard lock(mutex_);
                woken_.store(true, std::memory_order_relaxed);
            }
            cv_.notify_one();
            return;
        }
        if (emscripten_is_main_runtime_thread()) {
            woken_.store(true, std::memory_order_release);
            corio_js_wake();  // a JS callback while the loop sleeps: end the sleep
            return;
        }
        // Another thread (a to_thread worker): one message to the main thread per wake-up
        // that the loop has not consumed yet. It resolves the sleep in progress, if any;
        // the flag covers a loop that is not sleeping.
        if (!woken_.exchange(true, std::memory_order_acq_rel))
            MAIN_THREAD_ASYNC_EM_ASM({ if (Module.corio) Module.corio.wake(); });
    }

private:
    void sleep(double ms) {
        corio_js_sleep(ms);
        // Whatever ended the sleep, the loop now looks at its inbox and timers.
        woken_.store(false, std::memory_order_release);
        last_yield_ = now();
    }

    // A loop on a worker thread (a Web Worker) may block like a native one: that never
    // blocks the page, and JS on that worker has nothing to run meanwhile.
    void block(std::int64_t deadline) {
        std::unique_lock lock(mutex_);
        auto woken = [&] { return woken_.load(std::memory_order_relaxed); };
        if (deadline == corio::detail::kNoDeadline) {
            cv_.wait(lock, woken);
        } else {
            const std::int64_t remaining = deadline - now();
            if (remaining > 0) cv_.wait_for(lock, std::chrono::nanoseconds(remaining), woken);
        }
        woken_.store(false, std::memory_order_relaxed);
    }

    std::atomic<bool> woken_{false};
    std::int64_t last_yield_ = 0;
    bool open_ = false;
    bool on_main_ = true;
    std::mutex mutex_;               // worker-thread loops only
    std::condition_variable cv_;
};

}  // namespace

namespace corio::backends {
std::shared_ptr<Backend> browser() { return std::make_shared<BrowserBackend>(); }
}  // namespace corio::backends

namespace corio::detail {
std::shared_ptr<Backend> default_backend() { return backends::browser(); }
}  // namespace corio::detail
