// Semaphore, ported from asyncio/locks.py (3.12): the permit is taken for a waiter when it
// is woken; a waiter cancelled after that gives it back, and every exit wakes as many
// waiters as there are free permits.
#include "corio/semaphore.hpp"

#include <fmt/format.h>

#include "corio/errors.hpp"

namespace corio {

Semaphore::Semaphore(std::ptrdiff_t value) : Semaphore(value, false) {}

Semaphore::Semaphore(std::ptrdiff_t value, bool bounded) : value_(value) {
    if (value < 0) throw ValueError(fmt::format("Semaphore initial value must be >= 0, got {}", value));
    if (bounded) bound_ = value;
}

Semaphore::~Semaphore() {
    // Permits that outlive the semaphore do nothing when they die; waiters are detached by
    // waiters_'s destructor.
    while (permits_) permits_->detach();
}

void Semaphore::release() {
    if (bound_ && value_ >= *bound_)
        throw ValueError(fmt::format("BoundedSemaphore released too many times (initial value {})", *bound_));
    ++value_;
    wake_next();
}

void Semaphore::give_back() noexcept {
    if (bound_ && value_ >= *bound_) return;  // released by hand already
    ++value_;
    wake_next();
}

bool Semaphore::wake_next() noexcept {
    for (auto* w = waiters_.front(); w; w = detail::WaiterList::next(*w)) {
        if (!w->woken()) {
            --value_;
            w->wake();
            return true;
        }
    }
    return false;
}

Semaphore::Permit&& Semaphore::Acquire::await_resume() {
    if (parked()) {
        check_orphaned();
        unlink();
        const bool cancelled = take_cancel();
        if (cancelled && woken()) ++sem_.value_;  // woken, but will not take the permit
        sem_.wake_while_free();
        if (cancelled) throw_cancelled();
    }
    permit_.attach(sem_);
    return std::move(permit_);
}

Semaphore::Acquire::~Acquire() {
    // Nobody moved the permit out (`co_await s.acquire();` as a statement): it stays taken
    // until s.release(), as in Python.
    if (permit_.sem_) permit_.detach();
    if (linked()) {
        unlink();
        if (woken()) {
            ++sem_.value_;
            sem_.wake_while_free();
        }
    }
}

}  // namespace corio
