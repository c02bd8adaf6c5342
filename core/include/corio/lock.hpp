// Lock: asyncio.Lock. Strictly FIFO (a task that releases and re-acquires at once goes
// behind the waiters), and cancellation-safe: a cancelled waiter takes nothing, and one that
// was woken but cancelled before it ran passes the lock on. `co_await lock.acquire()`
// returns a guard that releases on scope exit.
#pragma once

#include <utility>

#include "corio/detail/parked_waiter.hpp"

namespace corio {

class Condition;

class Lock {
public:
    class [[nodiscard]] Guard {
    public:
        Guard() = default;
        Guard(Guard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {}
        Guard& operator=(Guard&& o) noexcept {
            if (this != &o) {
                unlock();
                lock_ = std::exchange(o.lock_, nullptr);
            }
            return *this;
        }
        ~Guard() { unlock(); }
        // Releases now instead of at scope exit; later calls do nothing.
        void unlock() {
            if (auto* l = std::exchange(lock_, nullptr)) l->release();
        }
        bool owns_lock() const noexcept { return lock_ != nullptr; }

    private:
        friend class Lock;
        friend class Condition;
        explicit Guard(Lock& l) noexcept : lock_(&l) {}
        Lock* lock_ = nullptr;
    };

    class Acquire final : public detail::ParkedWaiter {
    public:
        explicit Acquire(Lock& lock) noexcept : lock_(lock) {}
        Acquire(const Acquire& o) noexcept : ParkedWaiter(o), lock_(o.lock_) {}
        ~Acquire();
        bool await_ready() noexcept {
            if (lock_.locked_ || !lock_.waiters_.empty()) return false;
            lock_.locked_ = true;
            return true;
        }
        template <class P>
        void await_suspend(detail::coroutine_handle<P> h) {
            park(lock_.waiters_, h);
        }
        Guard await_resume();

    private:
        Lock& lock_;
    };

    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    Acquire acquire() noexcept { return Acquire(*this); }
    // RuntimeError when the lock is not held.
    void release();
    bool locked() const noexcept { return locked_; }

private:
    void wake_first() noexcept;
    bool locked_ = false;
    // A woken waiter stays first in line until it runs, so nobody can barge in meanwhile.
    detail::ParkedWaiter::List waiters_;
};

}  // namespace corio
