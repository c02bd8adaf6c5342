// Helpers shared by the tests: the backend chosen on the command line, run() with it, and
// a capture of corio's log lines.
#pragma once

#include <catch2/catch.hpp>
#include <corio/corio.hpp>

// Catch2 v2 mentions a CHECK's expression three times: in __builtin_constant_p and in a
// `false && (expr)` after the loop, both only to draw warnings. g++ 12 runs a co_await in
// either (it hoists co_await out of `&&`), so CHECK(co_await reader.read(5) == "x") read
// three times and compared the last. The same macro, with the expression once.
#undef INTERNAL_CATCH_TEST
#define INTERNAL_CATCH_TEST(macroName, resultDisposition, ...)                                                \
    do {                                                                                                     \
        Catch::AssertionHandler catchAssertionHandler(macroName##_catch_sr, CATCH_INTERNAL_LINEINFO,          \
                                                      CATCH_INTERNAL_STRINGIFY(__VA_ARGS__), resultDisposition); \
        INTERNAL_CATCH_TRY {                                                                                 \
            CATCH_INTERNAL_START_WARNINGS_SUPPRESSION                                                        \
            CATCH_INTERNAL_SUPPRESS_PARENTHESES_WARNINGS                                                     \
            catchAssertionHandler.handleExpr(Catch::Decomposer() <= __VA_ARGS__);                           \
            CATCH_INTERNAL_STOP_WARNINGS_SUPPRESSION                                                         \
        }                                                                                                    \
        INTERNAL_CATCH_CATCH(catchAssertionHandler)                                                          \
        INTERNAL_CATCH_REACT(catchAssertionHandler)                                                          \
    } while (false)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <optional>
#include <thread>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace corio_test {

std::string default_backend_name();
bool select_backend(const std::string& name);
const std::string& backend_name();
// A fresh backend of the selected kind (a backend serves one loop at a time).
std::shared_ptr<corio::Backend> make_backend();
// True under the virtual-time backend: time-based assertions can then be exact.
bool virtual_time();

corio::RunOptions options();

template <class T>
T run_test(corio::Coro<T> main) {
    return corio::run(std::move(main), options());
}

// Collects every line corio logs while alive (and restores stderr logging after).
class LogCapture {
public:
    LogCapture();
    ~LogCapture();
    std::vector<std::string> lines() const;
    // How many lines contain `needle`.
    std::size_t count(const std::string& needle) const;
    std::string joined() const;

private:
    struct State {
        mutable std::mutex mutex;
        std::vector<std::string> lines;
    };
    std::shared_ptr<State> state_;
};

// Turns a loop that never wakes up again into a test failure instead of a hang: after
// `limit` it records that it fired and pokes the loop (call_soon_threadsafe) every 50 ms
// until destroyed. Create and destroy it inside the running loop.
class LoopWatchdog {
public:
    explicit LoopWatchdog(std::chrono::milliseconds limit) : LoopWatchdog(corio::get_running_loop(), limit) {}
    LoopWatchdog(corio::EventLoop& loop, std::chrono::milliseconds limit)
        : loop_(&loop), thread_([this, limit] { run(limit); }) {}
    LoopWatchdog(const LoopWatchdog&) = delete;
    LoopWatchdog& operator=(const LoopWatchdog&) = delete;
    ~LoopWatchdog() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    bool fired() const { return fired_.load(); }

private:
    void run(std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex_);
        if (cv_.wait_for(lock, limit, [&] { return stop_; })) return;
        fired_ = true;
        while (!cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop_; }))
            loop_->call_soon_threadsafe([] {});
    }
    corio::EventLoop* loop_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::atomic<bool> fired_{false};
    std::thread thread_;  // last: starts once the rest is ready
};

// Sets (or unsets) an environment variable for the scope.
class EnvVar {
public:
    EnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~EnvVar() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    EnvVar(const EnvVar&) = delete;
    EnvVar& operator=(const EnvVar&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// What an exception_ptr holds, for comparisons: "none", "cancelled:<msg>", "timeout:<msg>",
// "error:<what>".
inline std::string error_kind(const std::exception_ptr& e) {
    if (!e) return "none";
    try {
        std::rethrow_exception(e);
    } catch (const corio::CancelledError& c) {
        return std::string("cancelled:") + c.what();
    } catch (const corio::TimeoutError& t) {
        return std::string("timeout:") + t.what();
    } catch (const std::exception& x) {
        return std::string("error:") + x.what();
    } catch (...) {
        return "unknown";
    }
}

// Lets every other ready task run `n` times.
inline corio::Coro<> yield_n(int n) {
    for (int i = 0; i < n; ++i) co_await corio::sleep(std::chrono::seconds(0));
}

// Awaits `t`; true if it ended with CancelledError (false if it returned; any other failure
// is rethrown).
template <class T>
corio::Coro<bool> ended_cancelled(corio::Task<T> t) {
    bool cancelled = false;
    try {
        co_await t;
    } catch (const corio::CancelledError&) {
        cancelled = true;
    }
    co_return cancelled;
}

}  // namespace corio_test
