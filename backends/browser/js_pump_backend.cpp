// The library build's backend (the npm package, modules JS calls into): no Asyncify and no
// blocking. The JS event loop drives corio's loop: corio_pump() runs what is ready for at
// most a time budget and says when to run again, and the JS half arms exactly one macrotask
// hop or one setTimeout for that. With nothing to do it arms nothing, so an idle module
// never keeps Node alive. wasm/README.md ("wasm as a library") says why.
#include <emscripten.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "corio/backends/browser.hpp"
#include "corio/http/client_session.hpp"
#include "corio/http/engine.hpp"
#include "fetch_engine.hpp"
#include "js_hop.hpp"
#include "corio/detail/timer_heap.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"
#include "corio/run.hpp"

namespace {

// Module.corioPump: `now()` runs the pump at once (after a bridge entry: a call starts its
// task as a JS async function starts its body); `soon()` in a later macrotask
// (Module.corioHop, js_hop.hpp); a timer for the earliest deadline, kept while
// that deadline does not move, and cleared when no timer is left (an aborted long sleep
// must not keep Node alive).
EM_JS(void, corio_js_pump_setup, (), {
    if (Module.corioPump) return;
    var hop = Module.corioHop;
    var p = { hopArmed: false, timer: null, deadline: 0 };
    var clearTimer = function() {
        if (p.timer !== null) { clearTimeout(p.timer); p.timer = null; }
    };
    // next: 0 run again soon, > 0 in that many ms, -1 nothing to wait for, -2 the loop is
    // running already (an entry from inside a step): that pump arms when it ends.
    var arm = function(next) {
        if (next === -2) return;
        if (next === 0) { p.soon(); return; }
        if (next < 0) { clearTimer(); return; }
        var deadline = performance.now() + next;
        if (p.timer !== null && Math.abs(p.deadline - deadline) < 1) return;
        clearTimer();
        p.deadline = deadline;
        p.timer = setTimeout(function() { p.timer = null; p.now(); }, Math.min(next, 2147483647));
    };
    p.now = function() {
        var next;
        try {
            next = Module._corio_pump();
        } catch (e) {
            // A JS exception that unwound through C++ (an emscripten::val call that threw):
            // uncaught, as from any callback; the loop goes on with what is left.
            setTimeout(function() { throw e; }, 0);
            next = 0;
        }
        arm(next);
    };
    var fromHop = function() { p.hopArmed = false; p.now(); };
    p.soon = function() {
        if (p.hopArmed) return;
        p.hopArmed = true;
        hop(fromHop);
    };
    Module.corioPump = p;
});

EM_JS(void, corio_js_pump_soon, (), { Module.corioPump.soon(); });
// performance.now(): 3.1.6's emscripten_get_now() is process.hrtime() under Node, which
// allocates an Array per read and was a fifth of a call's time.
EM_JS(double, corio_js_now, (), { return performance.now(); });

// A step batch runs at most this long before the page gets a turn (rendering, input, I/O).
constexpr auto kBudget = std::chrono::milliseconds(4);

class JsPumpBackend final : public corio::Backend, public corio::http::detail::HttpBackend {
public:
    const char* name() const noexcept override { return "browser"; }
    void open(corio::EventLoop&) override {
        if (open_) throw corio::RuntimeError("this backend is already in use by another event loop");
        corio::backends::browser_detail::install_js_hop();
        corio_js_pump_setup();
        open_ = true;
    }
    void close() noexcept override { open_ = false; }
    std::int64_t now() noexcept override { return static_cast<std::int64_t>(corio_js_now() * 1e6); }
    std::int64_t real_now() noexcept override { return now(); }
    void wait(std::int64_t) override {
        throw corio::RuntimeError(
            "corio::run() is not available in corio's JavaScript library build: its loop runs on the JS event "
            "loop; export coroutines with corio::js::export_async instead");
    }
    // The fetches that finished (fetch_engine.cpp queues them in JS and wakes the pump).
    void poll() override { corio::backends::browser_detail::drain_fetches(); }
    // Only the main thread has a loop here (the library build has no threads).
    void wake() noexcept override { corio_js_pump_soon(); }
    bool submit(corio::ThreadJob&) override {
        throw corio::RuntimeError("to_thread() is not available in corio's JavaScript library build (it has no threads)");
    }

    std::unique_ptr<corio::http::detail::Engine> make_http_engine(const std::string&,
                                                                  const corio::http::SessionOptions& options) override {
        return corio::backends::browser_detail::make_fetch_engine(options);
    }

private:
    bool open_ = false;
};

}  // namespace

namespace corio::backends {
std::shared_ptr<Backend> browser() { return std::make_shared<JsPumpBackend>(); }
}  // namespace corio::backends

namespace corio::detail {
std::shared_ptr<Backend> default_backend() { return backends::browser(); }

// The loop JS drives: one per module, made on first use, never destroyed (the module lives
// as long as the JS realm that loaded it).
EventLoop& js_loop() {
    static EventLoop* loop = new EventLoop(backends::browser());
    return *loop;
}
}  // namespace corio::detail

// Runs what is ready; returns when to run again in ms: 0 now, -1 never (until woken), -2
// not now: the loop is running (called from inside a step), and that run arms the next.
extern "C" EMSCRIPTEN_KEEPALIVE double corio_pump() {
    corio::EventLoop& loop = corio::detail::js_loop();
    if (loop.is_running()) return -2;
    std::int64_t next = -1;
    try {
        next = loop.run_for(kBudget);
    } catch (...) {
        // Only a loop already running (a pump called from inside a step) refuses; try later.
        return 0;
    }
    if (next < 0) return -1;
    if (next == 0) return 0;
    return std::ceil(static_cast<double>(next) / 1e6);
}
