// Condition, ported from asyncio/locks.py (3.13): wait() re-acquires the lock on every way
// out, and a wait that ends with an exception hands one notification on, so a notified but
// cancelled waiter never swallows the wake-up another waiter needed.
#include "corio/condition.hpp"

#include "corio/errors.hpp"

namespace corio {

Coro<bool> Condition::wait() {
    if (!lock_.locked()) throw RuntimeError("Condition.wait() called without holding its lock: acquire it first");
    // The caller's guard (if the lock is held through one) owns the lock again once it is
    // re-acquired; meanwhile it is disowned, so that a lock destroyed during the wait
    // leaves it inert.
    Lock::Guard* const owner = std::exchange(lock_.owner_, nullptr);
    if (owner) owner->lock_ = nullptr;
    lock_.release_owned();
    std::exception_ptr error;
    detail::Park park(waiters_);
    try {
        co_await park;
    } catch (...) {
        error = std::current_exception();
    }
    // The condition (and maybe its lock) was destroyed while waiting: touch nothing.
    if (park.orphaned()) std::rethrow_exception(error);
    // Re-acquire even while being cancelled: the caller's guard expects to hold the lock.
    for (;;) {
        bool cancelled = false;
        try {
            co_await lock_.acquire();  // held without a guard of its own
        } catch (const CancelledError&) {
            cancelled = true;
            error = std::current_exception();
        }
        if (!cancelled) break;
    }
    if (owner) {
        owner->lock_ = &lock_;
        lock_.owner_ = owner;
    }
    if (error) {
        wake(1);
        std::rethrow_exception(error);
    }
    co_return true;
}

void Condition::notify(std::size_t n) {
    if (!lock_.locked()) throw RuntimeError("Condition.notify() called without holding its lock: acquire it first");
    wake(n);
}

void Condition::notify_all() {
    if (!lock_.locked())
        throw RuntimeError("Condition.notify_all() called without holding its lock: acquire it first");
    wake(waiters_.size());
}

void Condition::wake(std::size_t n) noexcept {
    for (auto* w = waiters_.front(); w && n > 0; w = detail::ParkedWaiter::List::next(*w)) {
        if (!w->woken()) {
            w->wake();
            --n;
        }
    }
}

}  // namespace corio
