// corio's micro-benchmarks: the cost of spawning a task (create_task + gather), of one
// sleep(0s) yield, of cancelling and awaiting a sleeping task, of a round trip over a
// memory stream pair, and the heap and RSS held by a suspended sleeping task. Each workload runs --runs times on a fresh corio::run() loop and
// the median is reported; allocations are counted by a replaced global operator new/delete
// (usable block sizes, so rounding counts).
// By default the heap is warm (see keep_heap_warm): timings measure corio, not page faults.
#include <corio/corio.hpp>
#include <corio/detail/frame_pool.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if __has_include(<malloc.h>)
#include <malloc.h>
#define CORIO_BENCH_HAVE_MALLOC_H 1
#endif

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// Allocation counter. Thread-local and constant-initialised, so a count is one plain
// increment with no synchronisation; the loop under test allocates only on this thread.
// Byte tracking (malloc_usable_size plus a histogram of block sizes) is switched on only
// for the memory phase, so it never slows the timed workloads.
namespace {

constexpr std::size_t kSizeBuckets = 128;  // usable sizes 0..1016 in 8-byte steps
constexpr std::size_t kBucketWidth = 8;
// corio's frame pool (core/src/frame_pool.cpp) carves task frames from slabs of this size;
// the memory phase counts the pool's blocks in use, so the slabs themselves are left out.
constexpr std::size_t kPoolSlabBytes = 64 * 1024;

struct AllocCounter {
    std::uint64_t allocs;
    std::uint64_t frees;
    bool track_bytes;
    std::int64_t live_bytes;                        // usable bytes allocated minus freed while tracking
    std::array<std::int64_t, kSizeBuckets> blocks;  // net live blocks per usable size
    std::int64_t large_blocks;
    std::int64_t large_bytes;
    std::int64_t slab_bytes;  // blocks of corio's pool slab size, counted by the pool instead
};
constinit thread_local AllocCounter t_alloc{};

std::size_t usable_size(void* p) noexcept {
#ifdef CORIO_BENCH_HAVE_MALLOC_H
    return malloc_usable_size(p);
#else
    (void)p;
    return 0;
#endif
}

void track(void* p, int sign) noexcept {
    const auto u = static_cast<std::int64_t>(usable_size(p));
    t_alloc.live_bytes += sign * u;
    const std::size_t bucket = static_cast<std::size_t>(u) / kBucketWidth;
    if (bucket < kSizeBuckets) {
        t_alloc.blocks[bucket] += sign;
    } else {
        t_alloc.large_blocks += sign;
        t_alloc.large_bytes += sign * u;
    }
}

void* counted_alloc(std::size_t n, std::size_t align, bool nothrow) {
    if (n == 0) n = 1;
    void* p;
    if (align <= alignof(std::max_align_t))
        p = std::malloc(n);
    else
        p = std::aligned_alloc(align, (n + align - 1) / align * align);
    if (!p) {
        if (nothrow) return nullptr;
        throw std::bad_alloc();
    }
    ++t_alloc.allocs;
    if (t_alloc.track_bytes) {
        track(p, +1);
        if (n == kPoolSlabBytes) t_alloc.slab_bytes += static_cast<std::int64_t>(usable_size(p));
    }
    return p;
}

void counted_free(void* p) noexcept {
    if (!p) return;
    ++t_alloc.frees;
    if (t_alloc.track_bytes) track(p, -1);
    std::free(p);
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, 0, false); }
void* operator new[](std::size_t n) { return counted_alloc(n, 0, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a), false); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_alloc(n, static_cast<std::size_t>(a), true);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_alloc(n, static_cast<std::size_t>(a), true);
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }

namespace {

// ---------------------------------------------------------------------------------------
// Process memory from /proc/self/status (Linux); nullopt where there is none.
std::optional<std::int64_t> status_kb(std::string_view field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':')
            return std::stoll(line.substr(field.size() + 1));
    }
    return std::nullopt;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false where that is not allowed.
bool reset_peak_rss() {
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return (std::fclose(f) == 0) && ok;
}

// Gives freed heap pages back to the OS, so that an RSS delta starts from a clean baseline
// even after earlier runs grew the heap.
void trim_heap() {
#if defined(CORIO_BENCH_HAVE_MALLOC_H) && defined(__GLIBC__)
    malloc_trim(0);
#endif
}

// glibc hands freed memory back to the OS (trimming the heap top, unmapping large blocks),
// so every run of a 1M-task workload would fault its ~300 MB in again; on this kind of
// machine that costs about as much as the spawn itself and measures the kernel, not corio.
// Keeping the memory (plus one untimed warm-up run) makes the timed runs reuse a warm heap;
// --cold-heap keeps glibc's defaults and includes first-touch costs.
void keep_heap_warm() {
#if defined(CORIO_BENCH_HAVE_MALLOC_H) && defined(__GLIBC__)
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

double ns_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::nano>(b - a).count();
}

// ---------------------------------------------------------------------------------------
// The workloads. Each returns what one run measured; the clock runs inside the coroutine,
// so loop creation and shutdown are not part of any figure.

corio::Coro<int> trivial_value(int i) { co_return i; }

struct SpawnRun {
    double ns_per_task;
    double allocs_per_task;
};

corio::Coro<SpawnRun> spawn_run(std::size_t n) {
    const std::uint64_t allocs0 = t_alloc.allocs;
    const auto t0 = Clock::now();
    std::vector<corio::Task<int>> tasks;
    tasks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(corio::create_task(trivial_value(static_cast<int>(i))));
    std::vector<int> results = co_await corio::gather(std::move(tasks));
    const auto t1 = Clock::now();
    const std::uint64_t allocs = t_alloc.allocs - allocs0;
    if (results.size() != n || (n > 0 && results.back() != static_cast<int>(n - 1)))
        throw std::runtime_error("spawn: gather returned wrong results");
    co_return SpawnRun{ns_between(t0, t1) / static_cast<double>(n),
                       static_cast<double>(allocs) / static_cast<double>(n)};
}

struct YieldRun {
    double ns_per_yield;
    double allocs_per_yield;
};

corio::Coro<YieldRun> yield_run(std::size_t n) {
    co_await corio::sleep(0s);  // the first yield may grow nothing, but keep it out anyway
    const std::uint64_t allocs0 = t_alloc.allocs;
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) co_await corio::sleep(0s);
    const auto t1 = Clock::now();
    const std::uint64_t allocs = t_alloc.allocs - allocs0;
    co_return YieldRun{ns_between(t0, t1) / static_cast<double>(n),
                       static_cast<double>(allocs) / static_cast<double>(n)};
}

// A figure per operation and the allocations each operation made: the shape of the
// pingpong, lock and timers results.
struct OpRun {
    double ns_per_op;
    double allocs_per_op;
};

// Two tasks, two Queue<int>(1): the pinger puts into `ping` and waits for the answer on
// `pong`. Each round trip is two puts, two gets and two task switches.
corio::Coro<> ponger(corio::Queue<int>& ping, corio::Queue<int>& pong, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        int v = co_await ping.get();
        co_await pong.put(v + 1);
    }
}

corio::Coro<OpRun> pingpong_run(std::size_t n) {
    corio::Queue<int> ping(1), pong(1);
    corio::Task<> other = corio::create_task(ponger(ping, pong, n));
    co_await corio::sleep(0s);  // let the ponger reach its first get()
    const std::uint64_t allocs0 = t_alloc.allocs;
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        co_await ping.put(static_cast<int>(i));
        const int v = co_await pong.get();
        if (v != static_cast<int>(i) + 1) throw std::runtime_error("pingpong: wrong answer");
    }
    const auto t1 = Clock::now();
    const std::uint64_t allocs = t_alloc.allocs - allocs0;
    co_await other;
    co_return OpRun{ns_between(t0, t1) / static_cast<double>(n), static_cast<double>(allocs) / static_cast<double>(n)};
}

// 100 tasks contending for one Lock, each holding it across a sleep(0s): every acquire but
// the uncontended first one parks the task and is handed the lock by a release.
constexpr std::size_t kLockTasks = 100;

corio::Coro<> lock_worker(corio::Lock& lock, std::size_t rounds, std::size_t& counter) {
    for (std::size_t i = 0; i < rounds; ++i) {
        auto guard = co_await lock.acquire();
        const std::size_t seen = counter;
        co_await corio::sleep(0s);
        counter = seen + 1;  // lost if anybody else ran inside the critical section
    }
}

corio::Coro<OpRun> lock_run(std::size_t n) {
    const std::size_t rounds = std::max<std::size_t>(1, n / kLockTasks);
    corio::Lock lock;
    std::size_t counter = 0;
    std::vector<corio::Coro<>> workers;
    workers.reserve(kLockTasks);
    for (std::size_t t = 0; t < kLockTasks; ++t) workers.push_back(lock_worker(lock, rounds, counter));
    const std::uint64_t allocs0 = t_alloc.allocs;
    const auto t0 = Clock::now();
    co_await corio::gather(std::move(workers));
    const auto t1 = Clock::now();
    const std::uint64_t allocs = t_alloc.allocs - allocs0;
    const std::size_t acquires = rounds * kLockTasks;
    if (counter != acquires) throw std::runtime_error("lock: the critical section was not exclusive");
    co_return OpRun{ns_between(t0, t1) / static_cast<double>(acquires),
                    static_cast<double>(allocs) / static_cast<double>(acquires)};
}

// N tasks sleeping 0..99 ms at once; what the run takes beyond the longest sleep, per timer.
corio::Coro<> timed_sleeper(int ms) { co_await corio::sleep(std::chrono::milliseconds(ms)); }

corio::Coro<OpRun> timers_run(std::size_t n) {
    const std::uint64_t allocs0 = t_alloc.allocs;
    const auto t0 = Clock::now();
    std::vector<corio::Task<>> tasks;
    tasks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(corio::create_task(timed_sleeper(static_cast<int>(i % 100))));
    co_await corio::gather(std::move(tasks));
    const auto t1 = Clock::now();
    const std::uint64_t allocs = t_alloc.allocs - allocs0;
    const double longest = n >= 100 ? 99e6 : static_cast<double>(n - 1) * 1e6;
    co_return OpRun{(ns_between(t0, t1) - longest) / static_cast<double>(n),
                    static_cast<double>(allocs) / static_cast<double>(n)};
}

// cancel: tasks suspended in a 1 h sleep, cancelled and awaited, `batch` at a time: create
// the batch, yield once so that every task runs its first step and parks in its sleep, cancel
// each, then co_await each, catching the CancelledError it rethrows. Timed as a whole, so the
// figure is per cancelled task with its spawn included. The baseline (cancel = false) is the
// same with a sleep(0s) that completes: spawn + start + one yield + await, no cancellation;
// the difference of the two is what cancelling costs beyond the spawn. Public API only.
std::size_t g_cancel_started = 0;

corio::Coro<> cancel_sleeper() {
    ++g_cancel_started;
    co_await corio::sleep(1h);  // CancelledError is thrown here by cancel()
}

corio::Coro<> cancel_baseline_task() {
    ++g_cancel_started;
    co_await corio::sleep(0s);
}

corio::Coro<OpRun> cancel_run(std::size_t n, std::size_t batch, bool cancel) {
    std::vector<corio::Task<>> tasks;
    tasks.reserve(std::min(n, batch));
    std::size_t cancelled = 0, completed = 0;
    const std::uint64_t allocs0 = t_alloc.allocs;
    const auto t0 = Clock::now();
    for (std::size_t first = 0; first < n; first += batch) {
        const std::size_t m = std::min(batch, n - first);
        g_cancel_started = 0;
        for (std::size_t i = 0; i < m; ++i)
            tasks.push_back(corio::create_task(cancel ? cancel_sleeper() : cancel_baseline_task()));
        co_await corio::sleep(0s);  // the batch's first steps run before this task's next one
        if (g_cancel_started != m) throw std::runtime_error("cancel: not every task of the batch started");
        if (cancel)
            for (auto& t : tasks) t.cancel();
        for (auto& t : tasks) {
            try {
                co_await t;
                ++completed;
            } catch (const corio::CancelledError&) {
                ++cancelled;
            }
        }
        tasks.clear();
    }
    const auto t1 = Clock::now();
    const std::uint64_t allocs = t_alloc.allocs - allocs0;
    if ((cancel ? cancelled : completed) != n)
        throw std::runtime_error(cancel ? "cancel: not every task was cancelled" : "cancel: a baseline task failed");
    co_return OpRun{ns_between(t0, t1) / static_cast<double>(n), static_cast<double>(allocs) / static_cast<double>(n)};
}

// memstream: two tasks over corio::memory_stream_pair(). A writes 64 bytes and reads the 64
// that come back (readexactly); B reads them (readexactly) and writes them back. No drain():
// the 64 bytes stay far below the write buffer's high-water mark, so it would return at once.
// A round trip is two writes, two readexactly and two deliveries through the loop.
constexpr std::size_t kMemstreamBytes = 64;

corio::Coro<> memstream_echo(corio::StreamReader reader, corio::StreamWriter writer, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        std::string data = co_await reader.readexactly(static_cast<std::ptrdiff_t>(kMemstreamBytes));
        writer.write(data);
    }
    writer.close();
}

corio::Coro<OpRun> memstream_run(std::size_t n) {
    auto [a, b] = corio::memory_stream_pair();
    corio::Task<> other = corio::create_task(memstream_echo(std::move(b.reader), std::move(b.writer), n));
    const std::string message(kMemstreamBytes, 'm');
    co_await corio::sleep(0s);  // let B reach its first readexactly
    const std::uint64_t allocs0 = t_alloc.allocs;
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        a.writer.write(message);
        const std::string back = co_await a.reader.readexactly(static_cast<std::ptrdiff_t>(kMemstreamBytes));
        if (back != message) throw std::runtime_error("memstream: the echo differs from what was sent");
    }
    const auto t1 = Clock::now();
    const std::uint64_t allocs = t_alloc.allocs - allocs0;
    co_await other;
    a.writer.close();
    co_return OpRun{ns_between(t0, t1) / static_cast<double>(n), static_cast<double>(allocs) / static_cast<double>(n)};
}

std::size_t g_sleepers_started = 0;

corio::Coro<> sleeper() {
    ++g_sleepers_started;
    co_await corio::sleep(1h);
}

struct BlockSize {
    std::size_t usable;  // 0: blocks larger than the histogram covers
    std::int64_t blocks;
    std::int64_t bytes;
};

struct MemoryRun {
    double heap_bytes_per_task;
    std::optional<double> rss_bytes_per_task;
    std::optional<double> peak_rss_bytes_per_task;
    double cancel_ns_per_task;
    std::vector<BlockSize> top_blocks;  // what the heap growth is made of, largest first
};

std::vector<BlockSize> top_block_sizes(std::size_t count) {
    std::vector<BlockSize> out;
    for (std::size_t b = 0; b < kSizeBuckets; ++b)
        if (t_alloc.blocks[b] > 0)
            out.push_back(
                {b * kBucketWidth, t_alloc.blocks[b], t_alloc.blocks[b] * static_cast<std::int64_t>(b * kBucketWidth)});
    if (t_alloc.large_blocks > 0) out.push_back({0, t_alloc.large_blocks, t_alloc.large_bytes});
    std::sort(out.begin(), out.end(), [](const BlockSize& a, const BlockSize& b) { return a.bytes > b.bytes; });
    if (out.size() > count) out.resize(count);
    return out;
}

corio::Coro<MemoryRun> memory_run(std::size_t n) {
    // The handles are the benchmark's, not the tasks' cost: allocate and touch them first.
    std::vector<corio::Task<>> tasks(n);
    g_sleepers_started = 0;
    trim_heap();
    const bool peak_ok = reset_peak_rss();
    const auto rss0 = status_kb("VmRSS");

    t_alloc.track_bytes = true;
    t_alloc.live_bytes = 0;
    t_alloc.slab_bytes = 0;
    // Frames and tasks come from corio's per-thread pool, which reuses the slabs of earlier
    // runs without calling operator new: count its blocks too.
    const long long pool0 = corio::detail::pool_bytes_in_use();
    t_alloc.blocks = {};
    t_alloc.large_blocks = t_alloc.large_bytes = 0;

    for (std::size_t i = 0; i < n; ++i) tasks[i] = corio::create_task(sleeper());
    // Each task's first step runs in the next loop iteration; yield twice to be sure all
    // of them have reached their sleep.
    co_await corio::sleep(0s);
    co_await corio::sleep(0s);

    const std::int64_t live =
        t_alloc.live_bytes - t_alloc.slab_bytes + (corio::detail::pool_bytes_in_use() - pool0);
    const auto rss1 = status_kb("VmRSS");
    const auto hwm1 = status_kb("VmHWM");
    t_alloc.track_bytes = false;
    std::vector<BlockSize> top = top_block_sizes(4);

    if (g_sleepers_started != n) throw std::runtime_error("memory: not every sleeper started");

    const auto t0 = Clock::now();
    for (auto& t : tasks) t.cancel();
    for (int round = 0; round < 3; ++round) {
        co_await corio::sleep(0s);
        if (std::all_of(tasks.begin(), tasks.end(), [](const corio::Task<>& t) { return t.done(); })) break;
    }
    const auto t1 = Clock::now();
    if (!std::all_of(tasks.begin(), tasks.end(), [](const corio::Task<>& t) { return t.cancelled(); }))
        throw std::runtime_error("memory: not every sleeper was cancelled");

    const double dn = static_cast<double>(n);
    MemoryRun r{static_cast<double>(live) / dn, std::nullopt, std::nullopt, ns_between(t0, t1) / dn, std::move(top)};
    if (rss0 && rss1) r.rss_bytes_per_task = static_cast<double>(*rss1 - *rss0) * 1024.0 / dn;
    if (rss0 && hwm1 && peak_ok) r.peak_rss_bytes_per_task = static_cast<double>(*hwm1 - *rss0) * 1024.0 / dn;
    co_return r;
}

// ---------------------------------------------------------------------------------------
// Command line and report.

struct Options {
    std::size_t n_spawn = 1'000'000;
    std::size_t n_yield = 10'000'000;
    std::size_t n_pingpong = 1'000'000;
    std::size_t n_lock = 1'000'000;  // acquires in all, shared by the 100 tasks
    std::size_t n_timers = 1'000'000;
    std::size_t n_memory = 1'000'000;
    std::size_t n_cancel = 100'000;
    std::size_t n_memstream = 1'000'000;
    std::size_t cancel_batch = 1'000;  // tasks created, cancelled and awaited together
    int runs = 3;
#ifdef __EMSCRIPTEN__
    std::string backend = "browser";  // the platform default: there is no libuv under wasm
#else
    std::string backend = "libuv";
#endif
    bool json = false;
    bool cold_heap = false;
    bool spawn = true;
    bool yields = true;
    bool pingpong = true;
    bool lock = true;
    bool timers = true;
    bool memory = true;
    bool cancel = true;
    bool memstream = true;
};

[[noreturn]] void usage(const std::string& error) {
    if (!error.empty()) fmt::print(stderr, "corio_bench: {}\n", error);
    fmt::print(stderr,
               "usage: corio_bench [--n-spawn N] [--n-yield N] [--n-pingpong N] [--n-lock N] [--n-timers N]\n"
               "                   [--n-memory N] [--n-cancel N] [--cancel-batch B] [--n-memstream N] [--runs K]\n"
               "                   [--backend libuv|browser|virtual_time]\n"
               "                   [--only spawn,yields,pingpong,lock,timers,memory,cancel,memstream]\n"
               "                   [--json] [--cold-heap]\n");
    std::exit(error.empty() ? 0 : 2);
}

std::size_t parse_count(const std::string& opt, const std::string& v) {
    try {
        std::size_t pos = 0;
        const long long n = std::stoll(v, &pos);
        if (pos == v.size() && n > 0) return static_cast<std::size_t>(n);
    } catch (const std::exception&) {
    }
    usage(fmt::format("{} needs a positive integer, got '{}'", opt, v));
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_value = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg.resize(eq);
            has_value = true;
        }
        auto next = [&]() -> std::string {
            if (has_value) return value;
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--n-spawn") {
            o.n_spawn = parse_count(arg, next());
        } else if (arg == "--n-yield") {
            o.n_yield = parse_count(arg, next());
        } else if (arg == "--n-pingpong") {
            o.n_pingpong = parse_count(arg, next());
        } else if (arg == "--n-lock") {
            o.n_lock = parse_count(arg, next());
        } else if (arg == "--n-timers") {
            o.n_timers = parse_count(arg, next());
        } else if (arg == "--n-memory") {
            o.n_memory = parse_count(arg, next());
        } else if (arg == "--n-cancel") {
            o.n_cancel = parse_count(arg, next());
        } else if (arg == "--n-memstream") {
            o.n_memstream = parse_count(arg, next());
        } else if (arg == "--cancel-batch") {
            o.cancel_batch = parse_count(arg, next());
        } else if (arg == "--runs") {
            o.runs = static_cast<int>(parse_count(arg, next()));
        } else if (arg == "--backend") {
            o.backend = next();
            if (o.backend != "libuv" && o.backend != "browser" && o.backend != "virtual_time")
                usage(fmt::format("unknown backend '{}' (libuv, browser or virtual_time)", o.backend));
        } else if (arg == "--json") {
            o.json = true;
        } else if (arg == "--cold-heap") {
            o.cold_heap = true;
        } else if (arg == "--only") {
            o.spawn = o.yields = o.pingpong = o.lock = o.timers = o.memory = o.cancel = o.memstream = false;
            std::stringstream list(next());
            std::string item;
            while (std::getline(list, item, ',')) {
                if (item == "spawn")
                    o.spawn = true;
                else if (item == "yields" || item == "yield")
                    o.yields = true;
                else if (item == "pingpong")
                    o.pingpong = true;
                else if (item == "lock")
                    o.lock = true;
                else if (item == "timers" || item == "timer")
                    o.timers = true;
                else if (item == "memory")
                    o.memory = true;
                else if (item == "cancel")
                    o.cancel = true;
                else if (item == "memstream")
                    o.memstream = true;
                else
                    usage(fmt::format("unknown workload '{}' (spawn, yields, pingpong, lock, timers, memory, cancel, "
                                      "memstream)",
                                      item));
            }
        } else if (arg == "--help" || arg == "-h") {
            usage("");
        } else {
            usage(fmt::format("unknown option '{}'", arg));
        }
    }
    return o;
}

template <class T>
T run_once(const Options& o, corio::Coro<T> workload) {
    corio::RunOptions ro;
    if (o.backend == "virtual_time") {
        ro.backend = corio::backends::virtual_time();
    } else {
#ifdef __EMSCRIPTEN__
        if (o.backend != "browser") usage("only the browser and virtual_time backends exist under wasm");
#else
        if (o.backend != "libuv") usage("the browser backend exists only under wasm");
        ro.backend = corio::backends::libuv();
#endif
    }  // empty: the platform default
    return corio::run(std::move(workload), std::move(ro));
}

std::string with_commas(std::size_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string fmt_opt(const std::optional<double>& v, const char* spec) {
    return v ? fmt::format(fmt::runtime(spec), *v) : std::string("n/a");
}

std::optional<double> median_opt(const std::vector<std::optional<double>>& v) {
    std::vector<double> present;
    for (const auto& x : v)
        if (x) present.push_back(*x);
    if (present.size() != v.size()) return std::nullopt;
    return median(present);
}

corio::Coro<OpRun> spawn_op(std::size_t n) {
    SpawnRun s = co_await spawn_run(n);
    co_return OpRun{s.ns_per_task, s.allocs_per_task};
}

corio::Coro<OpRun> yield_op(std::size_t n) {
    YieldRun y = co_await yield_run(n);
    co_return OpRun{y.ns_per_yield, y.allocs_per_yield};
}

// The per-run figures of one workload, kept for the JSON "samples" so that a runner can
// check the spread.
struct Samples {
    std::vector<double> ns;
    std::vector<double> allocs;
};

template <class Make>
Samples repeat(const Options& o, bool warm_up, Make make) {
    Samples s;
#ifdef __EMSCRIPTEN__
    warm_up = true;  // the wasm engine tiers up hot code: measure the optimised tier, as for node's peer
#endif
    if (warm_up && !o.cold_heap) run_once(o, make());  // warm-up, not counted
    for (int r = 0; r < o.runs; ++r) {
        OpRun x = run_once(o, make());
        s.ns.push_back(x.ns_per_op);
        s.allocs.push_back(x.allocs_per_op);
    }
    return s;
}

std::string json_list(const std::vector<double>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += fmt::format("{}{:.3f}", i ? ", " : "", v[i]);
    return out + "]";
}

}  // namespace

#ifdef CORIO_BENCH_JS_MODULE
// The same workloads as a module of corio's JavaScript library build (bench/js/run links it
// with the README's em++ line): each export runs one workload on the loop JS drives and
// resolves with its ns per operation. No main(), no corio::run().
#include <corio/js.hpp>
#include <emscripten/bind.h>

namespace {
corio::Coro<double> js_spawn(int n) { co_return (co_await spawn_op(static_cast<std::size_t>(n))).ns_per_op; }
corio::Coro<double> js_yields(int n) { co_return (co_await yield_op(static_cast<std::size_t>(n))).ns_per_op; }
corio::Coro<double> js_pingpong(int n) { co_return (co_await pingpong_run(static_cast<std::size_t>(n))).ns_per_op; }
corio::Coro<double> js_lock(int n) { co_return (co_await lock_run(static_cast<std::size_t>(n))).ns_per_op; }
corio::Coro<double> js_timers(int n) { co_return (co_await timers_run(static_cast<std::size_t>(n))).ns_per_op; }
corio::Coro<double> js_cancel(int n) { co_return (co_await cancel_run(static_cast<std::size_t>(n), 1000, true)).ns_per_op; }
corio::Coro<double> js_memstream(int n) { co_return (co_await memstream_run(static_cast<std::size_t>(n))).ns_per_op; }
}  // namespace

EMSCRIPTEN_BINDINGS(corio_bench) {
    corio::js::export_async("spawn", &js_spawn);
    corio::js::export_async("yields", &js_yields);
    corio::js::export_async("pingpong", &js_pingpong);
    corio::js::export_async("lock", &js_lock);
    corio::js::export_async("timers", &js_timers);
    corio::js::export_async("cancel", &js_cancel);
    corio::js::export_async("memstream", &js_memstream);
}
#else
int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);

    std::optional<Samples> spawn, yields, pingpong, lock, timers, cancel_await, cancel_baseline, memstream;
    std::optional<MemoryRun> memory;
    std::vector<double> memory_peak_samples;

    if (!o.cold_heap) keep_heap_warm();

    if (o.spawn)
        spawn = repeat(o, true, [&] { return spawn_op(o.n_spawn); });
    if (o.yields)
        yields = repeat(o, false, [&] { return yield_op(o.n_yield); });
    if (o.pingpong) pingpong = repeat(o, false, [&] { return pingpong_run(o.n_pingpong); });
    if (o.lock) lock = repeat(o, false, [&] { return lock_run(o.n_lock); });
    if (o.timers) timers = repeat(o, true, [&] { return timers_run(o.n_timers); });
    if (o.cancel) {
        cancel_await = repeat(o, true, [&] { return cancel_run(o.n_cancel, o.cancel_batch, true); });
        cancel_baseline = repeat(o, false, [&] { return cancel_run(o.n_cancel, o.cancel_batch, false); });
    }
    if (o.memstream) memstream = repeat(o, true, [&] { return memstream_run(o.n_memstream); });
    if (o.memory) {
        std::vector<double> heap, cancel;
        std::vector<std::optional<double>> rss, peak;
        std::vector<MemoryRun> all;
        for (int r = 0; r < o.runs; ++r) {
            MemoryRun m = run_once(o, memory_run(o.n_memory));
            heap.push_back(m.heap_bytes_per_task);
            rss.push_back(m.rss_bytes_per_task);
            peak.push_back(m.peak_rss_bytes_per_task);
            if (m.peak_rss_bytes_per_task) memory_peak_samples.push_back(*m.peak_rss_bytes_per_task);
            cancel.push_back(m.cancel_ns_per_task);
            all.push_back(std::move(m));
        }
        // The block breakdown of the run whose heap figure is the median.
        const double mh = median(heap);
        auto closest = std::min_element(all.begin(), all.end(), [&](const MemoryRun& a, const MemoryRun& b) {
            return std::abs(a.heap_bytes_per_task - mh) < std::abs(b.heap_bytes_per_task - mh);
        });
        memory = MemoryRun{mh, median_opt(rss), median_opt(peak), median(cancel), closest->top_blocks};
    }

    if (o.json) {
        // The keys every peer in bench/peers/ prints too (see bench/report.py).
        std::vector<std::string> fields = {
            R"("runtime": "corio")",
            fmt::format(R"("backend": "{}")", o.backend),
            fmt::format(R"("runs": {})", o.runs),
            fmt::format(R"("heap": "{}")", o.cold_heap ? "cold" : "warm"),
        };
        std::vector<std::string> samples;
        auto num = [](const std::optional<double>& v) { return v ? fmt::format("{:.3f}", *v) : std::string("null"); };
        auto op = [&](const std::optional<Samples>& s, const char* n_key, std::size_t n, const char* ns_key,
                      const char* allocs_key) {
            if (!s) return;
            fields.push_back(fmt::format(R"("{}": {})", n_key, n));
            fields.push_back(fmt::format(R"("{}": {:.3f})", ns_key, median(s->ns)));
            fields.push_back(fmt::format(R"("{}": {:.6f})", allocs_key, median(s->allocs)));
            samples.push_back(fmt::format(R"("{}": {})", ns_key, json_list(s->ns)));
        };
        op(spawn, "n_spawn", o.n_spawn, "spawn_ns_per_task", "spawn_allocs_per_task");
        op(yields, "n_yield", o.n_yield, "yield_ns", "yield_allocs");
        op(pingpong, "n_pingpong", o.n_pingpong, "pingpong_ns", "pingpong_allocs");
        if (lock) fields.push_back(fmt::format(R"("lock_tasks": {})", kLockTasks));
        op(lock, "n_lock", o.n_lock, "lock_ns_per_acquire", "lock_allocs_per_acquire");
        op(timers, "n_timers", o.n_timers, "timer_overhead_ns", "timer_allocs");
        if (cancel_await) fields.push_back(fmt::format(R"("cancel_batch": {})", o.cancel_batch));
        op(cancel_await, "n_cancel", o.n_cancel, "cancel_await_ns_per_task", "cancel_allocs_per_task");
        if (cancel_baseline) {
            fields.push_back(
                fmt::format(R"("cancel_baseline_ns_per_task": {:.3f})", median(cancel_baseline->ns)));
            fields.push_back(
                fmt::format(R"("cancel_baseline_allocs_per_task": {:.6f})", median(cancel_baseline->allocs)));
            samples.push_back(fmt::format(R"("cancel_baseline_ns_per_task": {})", json_list(cancel_baseline->ns)));
        }
        op(memstream, "n_memstream", o.n_memstream, "memstream_ns", "memstream_allocs");
        if (memory) {
            fields.push_back(fmt::format(R"("n_memory": {})", o.n_memory));
            fields.push_back(fmt::format(R"("memory_heap_bytes_per_task": {:.1f})", memory->heap_bytes_per_task));
            fields.push_back(fmt::format(R"("memory_rss_bytes_per_task": {})", num(memory->rss_bytes_per_task)));
            fields.push_back(
                fmt::format(R"("memory_peak_rss_bytes_per_task": {})", num(memory->peak_rss_bytes_per_task)));
            fields.push_back(fmt::format(R"("cancel_ns_per_task": {:.3f})", memory->cancel_ns_per_task));
            if (!memory_peak_samples.empty())
                samples.push_back(fmt::format(R"("memory_peak_rss_bytes_per_task": {})", json_list(memory_peak_samples)));
        }
        std::string sample_obj = "{";
        for (std::size_t i = 0; i < samples.size(); ++i) sample_obj += (i ? ", " : "") + samples[i];
        fields.push_back(fmt::format(R"("samples": {}}})", sample_obj));
        std::string out = "{";
        for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? ",\n  " : "\n  ") + fields[i];
        fmt::print("{}\n}}\n", out);
        return 0;
    }

    fmt::print("corio micro-benchmarks: backend {}, median of {} run{}, {} heap\n\n", o.backend, o.runs,
               o.runs == 1 ? "" : "s", o.cold_heap ? "cold" : "warm");
    fmt::print("| workload | corio | goal | unit |\n|---|---:|---:|---|\n");
    if (spawn)
        fmt::print("| spawn: create_task + gather, N={} | {:.1f} | ≤ 100 | ns/task |\n", with_commas(o.n_spawn),
                   median(spawn->ns));
    if (yields)
        fmt::print("| yields: co_await sleep(0s), N={} | {:.1f} | ≤ 40 | ns/yield |\n", with_commas(o.n_yield),
                   median(yields->ns));
    if (pingpong)
        fmt::print("| pingpong: two tasks, two Queue<int>(1), N={} | {:.1f} | ≤ 150 | ns/round trip |\n",
                   with_commas(o.n_pingpong), median(pingpong->ns));
    if (lock)
        fmt::print("| lock: {} tasks, sleep(0s) held, N={} | {:.1f} | ≤ 150 | ns/acquire |\n", kLockTasks,
                   with_commas(o.n_lock), median(lock->ns));
    if (timers)
        fmt::print("| timers: tasks sleeping 0-99 ms, N={} | {:.1f} | ≤ 300 | ns/timer beyond 99 ms |\n",
                   with_commas(o.n_timers), median(timers->ns));
    if (cancel_await) {
        fmt::print("| cancel: create_task, sleep(1h) started, cancel, co_await (CancelledError), N={}, "
                   "batches of {} | {:.1f} | ≥ 1.5× Asio | ns/task |\n",
                   with_commas(o.n_cancel), with_commas(o.cancel_batch), median(cancel_await->ns));
        fmt::print("| cancel baseline: the same, sleep(0s) completes, no cancel | {:.1f} | – | ns/task |\n",
                   median(cancel_baseline->ns));
    }
    if (memstream)
        fmt::print("| memstream: memory_stream_pair, 64 B write + readexactly each way, N={} | {:.1f} | ≤ 150 "
                   "| ns/round trip |\n",
                   with_commas(o.n_memstream), median(memstream->ns));
    if (memory) {
        fmt::print("| memory: heap per sleeping task (counted), N={} | {:.0f} | ≤ 256 | bytes/task |\n",
                   with_commas(o.n_memory), memory->heap_bytes_per_task);
        fmt::print("| memory: RSS growth per sleeping task (VmRSS), N={} | {} | ≤ 256 | bytes/task |\n",
                   with_commas(o.n_memory), fmt_opt(memory->rss_bytes_per_task, "{:.0f}"));
    }
    fmt::print("\n");
    if (spawn) fmt::print("allocations per spawned task: {:.3f}\n", median(spawn->allocs));
    if (yields) fmt::print("allocations per yield: {:.6f}\n", median(yields->allocs));
    if (pingpong) fmt::print("allocations per pingpong round trip: {:.6f}\n", median(pingpong->allocs));
    if (lock) fmt::print("allocations per lock acquire: {:.6f}\n", median(lock->allocs));
    if (timers) fmt::print("allocations per timer task: {:.3f}\n", median(timers->allocs));
    if (cancel_await) {
        fmt::print("cancellation cost beyond spawn (cancel − baseline): {:.1f} ns/task\n",
                   median(cancel_await->ns) - median(cancel_baseline->ns));
        fmt::print("allocations per cancelled task: {:.3f} (baseline {:.3f})\n", median(cancel_await->allocs),
                   median(cancel_baseline->allocs));
    }
    if (memstream) fmt::print("allocations per memstream round trip: {:.3f}\n", median(memstream->allocs));
    if (memory) {
        fmt::print("peak RSS growth per sleeping task (VmHWM): {} bytes\n",
                   fmt_opt(memory->peak_rss_bytes_per_task, "{:.0f}"));
        fmt::print("cancelling the sleeping tasks: {:.1f} ns/task\n", memory->cancel_ns_per_task);
        fmt::print("heap growth of the memory phase by block size (usable bytes):\n");
        for (const BlockSize& b : memory->top_blocks) {
            const double per_task = static_cast<double>(b.bytes) / static_cast<double>(o.n_memory);
            if (per_task < 0.5) continue;  // a stray block, not a per-task cost
            if (b.usable)
                fmt::print("  {:>10} blocks of {:>4} B: {:6.1f} bytes/task\n",
                           with_commas(static_cast<std::size_t>(b.blocks)), b.usable, per_task);
            else
                fmt::print("  {:>10} blocks >= 1 KiB: {:6.1f} bytes/task\n", fmt::format("net {:+}", b.blocks),
                           per_task);
        }
    }
    return 0;
}
#endif  // CORIO_BENCH_JS_MODULE
