// The corio_bench workloads on Boost.Asio with C++20 coroutines, as an Asio user writes them:
// co_spawn + awaitable<T>, a yield is `co_await post(executor, use_awaitable)`, timers are
// steady_timer. Asio has no lock and no queue, so pingpong and lock are not measured (the
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
                 "%s%susage: asio_bench [--n-spawn N] [--n-yield N] [--n-timers N] [--n-memory N] [--runs K]\n"
                 "                  [--only spawn,yields,timers,memory] [--json]\n",
                 error.empty() ? "" : "asio_bench: ", error.empty() ? "" : (error + "\n").c_str());
    std::exit(error.empty() ? 0 : 2);
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n_spawn = 1'000'000, n_yield = 10'000'000, n_timers = 1'000'000, n_memory = 1'000'000;
    int runs = 3;
    bool json = false;
    std::string only = "spawn,yields,pingpong,lock,timers,memory";
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
