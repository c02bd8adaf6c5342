// Lock, ported from asyncio/locks.py: release() wakes the first waiter, which stays first
// in line until it runs and takes the lock; if it was cancelled meanwhile it wakes the next.
#include "corio/lock.hpp"

#include "corio/errors.hpp"

namespace corio {

Lock::~Lock() {
    // A guard that outlives its lock does nothing when it dies; waiters are detached by
    // waiters_'s destructor.
    if (owner_) owner_->lock_ = nullptr;
}

void Lock::release() {
    if (!locked_) throw RuntimeError("Lock.release() called on an unlocked Lock");
    if (owner_) {
        owner_->lock_ = nullptr;  // that guard no longer holds the lock
        owner_ = nullptr;
    }
    release_owned();
}

void Lock::wake_first() noexcept {
    if (auto* first = waiters_.front(); first && !first->woken()) first->wake();
}

Lock::Guard&& Lock::Acquire::await_resume() {
    if (parked()) {
        check_orphaned();
        unlink();
        if (take_cancel()) {
            if (!lock_.locked_) lock_.wake_first();
            throw_cancelled();
        }
        take();
    }
    return std::move(guard_);
}

Lock::Acquire::~Acquire() {
    if (guard_.lock_) {
        // Nobody moved the guard out (`co_await lock.acquire();` as a statement): the lock
        // stays held until lock.release(), as in Python.
        lock_.owner_ = nullptr;
        guard_.lock_ = nullptr;
    }
    // The frame is destroyed between being woken and running: pass the turn on.
    if (linked()) {
        unlink();
        if (woken() && !lock_.locked_) lock_.wake_first();
    }
}

}  // namespace corio
