// Lock: asyncio.Lock. Strictly FIFO (a task that releases and re-acquires at once goes
// behind the waiters), and cancellation-safe: a cancelled waiter takes nothing, and one that
// was woken but cancelled before it ran passes the lock on.
//   auto guard = co_await lock.acquire();   // released when `guard` dies (or guard.unlock())
//   co_await lock.acquire(); ...; lock.release();   // Python's pair works too
// The guard stays in the acquire awaiter until it is moved out; one never moved out leaves
// the lock held, for release(). The lock knows its guard, so release() (by anyone) disowns
// it and a lock destroyed first leaves its guard inert: no order of deaths double-releases.
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
        Guard(Guard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {
            if (lock_) lock_->owner_ = this;
        }
        Guard& operator=(Guard&& o) noexcept {
            if (this != &o) {
                unlock();
                lock_ = std::exchange(o.lock_, nullptr);
                if (lock_) lock_->owner_ = this;
            }
            return *this;
        }
        ~Guard() { unlock(); }
        // Releases now instead of at scope exit; later calls do nothing, and so does this
        // once the lock was released by lock.release() or destroyed.
        void unlock() noexcept {
            if (Lock* l = std::exchange(lock_, nullptr)) {
                l->owner_ = nullptr;
                l->release_owned();
            }
        }
        bool owns_lock() const noexcept { return lock_ != nullptr; }

    private:
        friend class Lock;
        friend class Condition;
        Lock* lock_ = nullptr;
    };

    class Acquire final : public detail::ParkedWaiter {
    public:
        explicit Acquire(Lock& lock) noexcept : lock_(lock) {}
        Acquire(const Acquire& o) noexcept : ParkedWaiter(o), lock_(o.lock_) {}
        ~Acquire();
        bool await_ready() noexcept {
            if (lock_.locked_ || !lock_.waiters_.empty()) return false;
            take();
            return true;
        }
        template <class P>
        void await_suspend(detail::coroutine_handle<P> h) {
            park(lock_.waiters_, h);
        }
        // The guard, to be moved out (`auto guard = co_await lock.acquire();`).
        Guard&& await_resume();

    private:
        void take() noexcept {
            lock_.locked_ = true;
            guard_.lock_ = &lock_;
            lock_.owner_ = &guard_;
        }
        Lock& lock_;
        Guard guard_;
    };

    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock();

    Acquire acquire() noexcept { return Acquire(*this); }
    // RuntimeError when the lock is not held. A guard holding it no longer does.
    void release();
    bool locked() const noexcept { return locked_; }

private:
    friend class Condition;
    void release_owned() noexcept {
        locked_ = false;
        wake_first();
    }
    void wake_first() noexcept;
    bool locked_ = false;
    Guard* owner_ = nullptr;  // the guard that will release the lock, if any
    // A woken waiter stays first in line until it runs, so nobody can barge in meanwhile.
    detail::WaiterList waiters_{"Lock"};
};

}  // namespace corio
