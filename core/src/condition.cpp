// Condition, ported from asyncio/locks.py (3.13): wait() re-acquires the lock on every way
// out, and a wait that ends with an exception hands one notification on, so a notified but
// cancelled waiter never swallows the wake-up another waiter needed.
#include "corio/condition.hpp"

#include "corio/errors.hpp"

namespace corio {

Coro<bool> Condition::wait() {
    if (!lock_.locked()) throw RuntimeError("Condition.wait() called without holding its lock: acquire it first");
    lock_.release();
    std::exception_ptr error;
    try {
        co_await detail::Park(waiters_);
    } catch (...) {
        error = std::current_exception();
    }
    // Re-acquire even while being cancelled: the caller's guard expects to hold the lock.
    for (;;) {
        bool cancelled = false;
        try {
            Lock::Guard g = co_await lock_.acquire();
            g.lock_ = nullptr;  // ownership stays with the caller's guard
        } catch (const CancelledError&) {
            cancelled = true;
            error = std::current_exception();
        }
        if (!cancelled) break;
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
