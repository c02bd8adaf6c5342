// The corio_bench workloads on Boost.Asio with C++20 coroutines, as an Asio user writes them:
// co_spawn + awaitable<T>, a yield is `co_await post(executor, use_awaitable)`, timers are
// steady_timer, a sleeping coroutine is cancelled with timer.cancel(). Asio has no lock and no queue, so pingpong and lock are not measured (the
// report marks them n/a) rather than inventing them. One io_context per run, concurrency
// hint 1 (single-threaded, as corio's loop). --json prints the same keys as
// `corio_bench --json` (see bench/report.py).
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/version.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

double ns_between(Clock::time_point a, Clock::time_point b) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// The same allocator settings as corio_bench (see keep_heap_warm there): glibc keeps freed
// memory, so timed runs after the warm-up measure the runtime, not page faults.
void keep_heap_warm() {
#if defined(__GLIBC__)
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

void trim_heap() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

std::optional<long long> status_kb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':')
            return std::stoll(line.substr(field.size() + 1));
    return std::nullopt;
}

bool reset_peak_rss() {
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

// ---------------------------------------------------------------------------------------

awaitable<int> trivial_value(int i) { co_return i; }

// N coroutines returning a value, their results collected (Asio 1.74 has no awaitable
// gather; the io_context running dry is the join).
double spawn_run(std::size_t n) {
    asio::io_context ctx(1);
    std::vector<int> results(n, -1);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i)
        asio::co_spawn(ctx, trivial_value(static_cast<int>(i)), [&results, i](std::exception_ptr e, int v) {
            if (e) std::rethrow_exception(e);
            results[i] = v;
        });
    ctx.run();
    const auto t1 = Clock::now();
    if (results.back() != static_cast<int>(n - 1)) throw std::runtime_error("spawn: wrong results");
    return ns_between(t0, t1) / static_cast<double>(n);
}

double yield_run(std::size_t n) {
    asio::io_context ctx(1);
    double out = 0;
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            co_await asio::post(ex, use_awaitable);
            const auto t0 = Clock::now();
            for (std::size_t i = 0; i < n; ++i) co_await asio::post(ex, use_awaitable);
            const auto t1 = Clock::now();
            out = ns_between(t0, t1) / static_cast<double>(n);
        },
        asio::detached);
    ctx.run();
    return out;
}

awaitable<void> timed_sleeper(int ms) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    co_await t.async_wait(use_awaitable);
}

double timers_run(std::size_t n) {
    asio::io_context ctx(1);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) asio::co_spawn(ctx, timed_sleeper(static_cast<int>(i % 100)), asio::detached);
    ctx.run();
    const auto t1 = Clock::now();
    const double longest = n >= 100 ? 99e6 : static_cast<double>(n - 1) * 1e6;
    return (ns_between(t0, t1) - longest) / static_cast<double>(n);
}

// cancel: coroutines waiting on a 1 h steady_timer, cancelled and awaited, `batch` at a
// time (as corio_bench's cancel_run): co_spawn the batch, yield once (post) so that each runs
// up to its async_wait, cancel each, then wait until every one has completed. Cancelling:
// the way to cancel a coroutine suspended in a timer wait is to cancel the timer,
// `timer.cancel()`, which completes the wait with operation_aborted; use_awaitable turns that
// into a boost::system::system_error thrown from the `co_await t.async_wait(...)` in the
// waiting coroutine, as corio throws CancelledError from its sleep. (Boost 1.74 has no
// per-operation cancellation slots: cancellation_signal and bind_cancellation_slot came in
// 1.77, and for a timer wait they do what timer.cancel() does.) Awaiting: Boost 1.74 cannot
// co_await a coroutine spawned earlier (co_spawn(..., use_awaitable) starts it only when
// awaited), so each one's co_spawn completion handler is its awaiter: it receives the
// exception_ptr and rethrows it to see that it is the operation_aborted system_error, as
// corio's `co_await task` rethrows CancelledError into a catch. The last handler of a batch
// wakes the driver through a steady_timer that never expires (Asio's usual async event).
// The baseline (cancel = false) waits on `post` instead of the timer and is not cancelled.
awaitable<void> cancel_sleeper(asio::steady_timer*& slot, std::size_t& started) {
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    slot = &t;
    ++started;
    co_await t.async_wait(use_awaitable);  // throws system_error(operation_aborted) when cancelled
}

awaitable<void> cancel_baseline_task(std::size_t& started) {
    ++started;
    co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
}

awaitable<void> cancel_driver(std::size_t n, std::size_t batch, bool cancel, double& out) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<asio::steady_timer*> timers(std::min(n, batch), nullptr);
    asio::steady_timer batch_done(ex, asio::steady_timer::time_point::max());
    std::size_t started = 0, finished = 0, cancelled = 0, completed = 0, m = 0;
    auto on_done = [&](std::exception_ptr e) {
        try {
            if (e) std::rethrow_exception(e);
            ++completed;
        } catch (const boost::system::system_error& err) {
            if (err.code() != asio::error::operation_aborted) throw;
            ++cancelled;
        }
        if (++finished == m) batch_done.cancel();  // wakes the driver if it waits
    };
    const auto t0 = Clock::now();
    for (std::size_t first = 0; first < n; first += batch) {
        m = std::min(batch, n - first);
        started = finished = 0;
        for (std::size_t i = 0; i < m; ++i) {
            if (cancel)
                asio::co_spawn(ex, cancel_sleeper(timers[i], started), on_done);
            else
                asio::co_spawn(ex, cancel_baseline_task(started), on_done);
        }
        co_await asio::post(ex, use_awaitable);  // the batch's first steps run before the driver's next one
        if (started != m) throw std::runtime_error("cancel: not every coroutine of the batch started");
        if (cancel)
            for (std::size_t i = 0; i < m; ++i) timers[i]->cancel();
        while (finished < m) {
            boost::system::error_code ec;  // the wake-up is operation_aborted; no exception for it
            co_await batch_done.async_wait(asio::redirect_error(use_awaitable, ec));
        }
    }
    const auto t1 = Clock::now();
    if ((cancel ? cancelled : completed) != n)
        throw std::runtime_error(cancel ? "cancel: not every coroutine was cancelled" : "cancel: a baseline task failed");
    out = ns_between(t0, t1) / static_cast<double>(n);
}

std::size_t g_cancel_batch = 1000;

double cancel_run_impl(std::size_t n, bool cancel) {
    asio::io_context ctx(1);
    double out = 0;
    asio::co_spawn(ctx, cancel_driver(n, g_cancel_batch, cancel, out), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    ctx.run();
    return out;
}

double cancel_run(std::size_t n) { return cancel_run_impl(n, true); }
double cancel_baseline_run(std::size_t n) { return cancel_run_impl(n, false); }

struct MemoryRun {
    std::optional<double> rss, peak;
    double cancel_ns;
};

awaitable<void> sleeper(asio::steady_timer*& slot, std::size_t& started) {
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    slot = &t;  // Asio cancels a sleep through its timer
    ++started;
    try {
        co_await t.async_wait(use_awaitable);
    } catch (const boost::system::system_error&) {
        // operation_aborted: cancelled
    }
    slot = nullptr;
}

MemoryRun memory_run(std::size_t n) {
    asio::io_context ctx(1);
    std::vector<asio::steady_timer*> timers(n, nullptr);  // the benchmark's handles, touched first
    std::size_t started = 0;
    trim_heap();
    const bool peak_ok = reset_peak_rss();
    const auto rss0 = status_kb("VmRSS");
    for (std::size_t i = 0; i < n; ++i) asio::co_spawn(ctx, sleeper(timers[i], started), asio::detached);
    ctx.poll();  // every coroutine runs up to its async_wait
    ctx.poll();
    const auto rss1 = status_kb("VmRSS");
    const auto hwm1 = status_kb("VmHWM");
    if (started != n) throw std::runtime_error("memory: not every sleeper started");
    const auto t0 = Clock::now();
    for (auto* t : timers) t->cancel();
    ctx.run();
    const auto t1 = Clock::now();
    MemoryRun r{std::nullopt, std::nullopt, ns_between(t0, t1) / static_cast<double>(n)};
    const double dn = static_cast<double>(n);
    if (rss0 && rss1) r.rss = static_cast<double>(*rss1 - *rss0) * 1024.0 / dn;
    if (rss0 && hwm1 && peak_ok) r.peak = static_cast<double>(*hwm1 - *rss0) * 1024.0 / dn;
    return r;
}

// ---------------------------------------------------------------------------------------

std::string json_list(const std::vector<double>& v) {
    std::ostringstream s;
    s << "[";
    for (std::size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
    s << "]";
    return s.str();
}

[[noreturn]] void usage(const std::string& error) {
    std::fprintf(stderr,
                 "%s%susage: asio_bench [--n-spawn N] [--n-yield N] [--n-timers N] [--n-memory N] [--n-cancel N]\n"
                 "                  [--cancel-batch B] [--runs K] [--only spawn,yields,timers,memory,cancel] [--json]\n",
                 error.empty() ? "" : "asio_bench: ", error.empty() ? "" : (error + "\n").c_str());
    std::exit(error.empty() ? 0 : 2);
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n_spawn = 1'000'000, n_yield = 10'000'000, n_timers = 1'000'000, n_memory = 1'000'000;
    std::size_t n_cancel = 100'000;
    int runs = 3;
    bool json = false;
    std::string only = "spawn,yields,pingpong,lock,timers,memory,cancel";
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i], value;
        bool has_value = false;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg.resize(eq);
            has_value = true;
        }
        auto next = [&]() -> std::string {
            if (has_value) return value;
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        auto count = [&]() -> std::size_t {
            const long long v = std::atoll(next().c_str());
            if (v <= 0) usage(arg + " needs a positive integer");
            return static_cast<std::size_t>(v);
        };
        if (arg == "--n-spawn") n_spawn = count();
        else if (arg == "--n-yield") n_yield = count();
        else if (arg == "--n-timers") n_timers = count();
        else if (arg == "--n-memory") n_memory = count();
        else if (arg == "--n-cancel") n_cancel = count();
        else if (arg == "--cancel-batch") g_cancel_batch = count();
        else if (arg == "--n-pingpong" || arg == "--n-lock") count();  // accepted, nothing to run
        else if (arg == "--runs") runs = static_cast<int>(count());
        else if (arg == "--only") only = next();
        else if (arg == "--json") json = true;
        else if (arg == "--help" || arg == "-h") usage("");
        else usage("unknown option '" + arg + "'");
    }

    keep_heap_warm();
    std::vector<std::string> fields = {"\"runtime\": \"asio\"",
                                       "\"boost\": \"" + std::to_string(BOOST_VERSION / 100000) + "." +
                                           std::to_string(BOOST_VERSION / 100 % 1000) + "\"",
                                       "\"runs\": " + std::to_string(runs)};
    std::vector<std::string> samples;
    auto num = [](double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", v);
        return std::string(buf);
    };
    auto timed = [&](const char* n_key, std::size_t n, const char* key, bool warm_up, double (*fn)(std::size_t)) {
        if (warm_up) fn(n);
        std::vector<double> v;
        for (int r = 0; r < runs; ++r) v.push_back(fn(n));
        fields.push_back(std::string("\"") + n_key + "\": " + std::to_string(n));
        fields.push_back(std::string("\"") + key + "\": " + num(median(v)));
        samples.push_back(std::string("\"") + key + "\": " + json_list(v));
    };

    std::stringstream list(only);
    std::string w;
    while (std::getline(list, w, ',')) {
        if (w == "spawn") {
            timed("n_spawn", n_spawn, "spawn_ns_per_task", true, spawn_run);
        } else if (w == "yields" || w == "yield") {
            timed("n_yield", n_yield, "yield_ns", false, yield_run);
        } else if (w == "timers" || w == "timer") {
            timed("n_timers", n_timers, "timer_overhead_ns", true, timers_run);
        } else if (w == "cancel") {
            fields.push_back("\"cancel_batch\": " + std::to_string(g_cancel_batch));
            timed("n_cancel", n_cancel, "cancel_await_ns_per_task", true, cancel_run);
            std::vector<double> v;
            for (int r = 0; r < runs; ++r) v.push_back(cancel_baseline_run(n_cancel));
            fields.push_back("\"cancel_baseline_ns_per_task\": " + num(median(v)));
            samples.push_back("\"cancel_baseline_ns_per_task\": " + json_list(v));
        } else if (w == "pingpong") {
            fields.push_back("\"pingpong_ns\": null");  // Asio has no queue
        } else if (w == "lock") {
            fields.push_back("\"lock_ns_per_acquire\": null");  // Asio has no lock
        } else if (w == "memory") {
            std::vector<double> rss, peak, cancel;
            for (int r = 0; r < runs; ++r) {
                MemoryRun m = memory_run(n_memory);
                if (m.rss) rss.push_back(*m.rss);
                if (m.peak) peak.push_back(*m.peak);
                cancel.push_back(m.cancel_ns);
            }
            fields.push_back("\"n_memory\": " + std::to_string(n_memory));
            fields.push_back("\"memory_rss_bytes_per_task\": " +
                             (rss.size() == cancel.size() ? num(median(rss)) : std::string("null")));
            fields.push_back("\"memory_peak_rss_bytes_per_task\": " +
                             (peak.size() == cancel.size() ? num(median(peak)) : std::string("null")));
            fields.push_back("\"cancel_ns_per_task\": " + num(median(cancel)));
            if (peak.size() == cancel.size()) samples.push_back("\"memory_peak_rss_bytes_per_task\": " + json_list(peak));
        } else {
            usage("unknown workload '" + w + "'");
        }
    }
    std::string s = "{";
    for (std::size_t i = 0; i < samples.size(); ++i) s += (i ? ", " : "") + samples[i];
    fields.push_back("\"samples\": " + s + "}");

    if (json) {
        std::printf("{");
        for (std::size_t i = 0; i < fields.size(); ++i) std::printf("%s\n  %s", i ? "," : "", fields[i].c_str());
        std::printf("\n}\n");
    } else {
        for (const auto& f : fields) std::printf("%s\n", f.c_str());
    }
    return 0;
}
