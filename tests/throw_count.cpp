// How many C++ exceptions corio raises to cancel a task. Each raise (a throw, a rethrow)
// costs ~0.7 µs of unwinding on this machine, so cancellation is recorded as state and only
// the raises asyncio's model needs are left: at the suspended co_await, and where the
// awaiter reads the result. Counted by interposing the unwinder's entry point, which every
// throw and rethrow_exception goes through (glibc, libstdc++ and libgcc_s, not sanitizers).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <corio/corio.hpp>
#include <dlfcn.h>
#include <unwind.h>

#include <vector>

using namespace std::chrono_literals;

namespace {
long g_raises = 0;
}

extern "C" _Unwind_Reason_Code _Unwind_RaiseException(struct _Unwind_Exception* e) {
    using Fn = _Unwind_Reason_Code (*)(struct _Unwind_Exception*);
    static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "_Unwind_RaiseException"));
    ++g_raises;
    return real(e);
}

namespace {
corio::Coro<> sleeper() { co_await corio::sleep(1h); }
corio::Coro<> nested_sleeper() { co_await sleeper(); }

// Raises while `n` tasks of `make()` are created, started, cancelled and awaited.
template <class Make>
long raises_per_cancelled_task(Make make, int n) {
    long raises = -1;
    corio::RunOptions o;
    o.backend = corio::backends::virtual_time();
    corio::run(
        [&]() -> corio::Coro<> {
            std::vector<corio::Task<>> tasks;
            for (int i = 0; i < n; ++i) tasks.push_back(corio::create_task(make()));
            co_await corio::sleep(0s);  // all suspended in their sleep
            const long before = g_raises;
            for (auto& t : tasks) t.cancel();
            int caught = 0;
            for (auto& t : tasks) {
                try {
                    co_await t;
                } catch (const corio::CancelledError&) {
                    ++caught;
                }
            }
            raises = g_raises - before;
            CHECK(caught == n);
        },
        o);
    return raises / n;
}
}  // namespace

TEST_CASE("the interposer sees throws and rethrows") {
    const long before = g_raises;
    try {
        throw 1;
    } catch (...) {
    }
    try {
        std::rethrow_exception(std::make_exception_ptr(2));
    } catch (...) {
    }
    CHECK(g_raises - before == 2);
}

TEST_CASE("a cancelled sleeping task costs two raises: at its co_await and where it is awaited") {
    // Regression: 4 (is_cancellation() rethrew to look, in finish_root and store_exception).
    CHECK(raises_per_cancelled_task(sleeper, 100) == 2);
}

TEST_CASE("each coroutine level the cancellation leaves adds one raise") {
    CHECK(raises_per_cancelled_task(nested_sleeper, 100) == 3);
}
