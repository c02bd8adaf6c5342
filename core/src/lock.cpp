// Lock, ported from asyncio/locks.py: release() wakes the first waiter, which stays first
// in line until it runs and takes the lock; if it was cancelled meanwhile it wakes the next.
#include "corio/lock.hpp"

#include "corio/errors.hpp"

namespace corio {

void Lock::release() {
    if (!locked_) throw RuntimeError("Lock.release() called on an unlocked Lock");
    locked_ = false;
    wake_first();
}

void Lock::wake_first() noexcept {
    if (auto* first = waiters_.front(); first && !first->woken()) first->wake();
}

Lock::Guard Lock::Acquire::await_resume() {
    if (parked()) {
        unlink();
        if (take_cancel()) {
            if (!lock_.locked_) lock_.wake_first();
            throw_cancelled();
        }
        lock_.locked_ = true;
    }
    return Guard(lock_);
}

Lock::Acquire::~Acquire() {
    // The frame is destroyed between being woken and running: pass the turn on.
    if (linked()) {
        unlink();
        if (woken() && !lock_.locked_) lock_.wake_first();
    }
}

}  // namespace corio
