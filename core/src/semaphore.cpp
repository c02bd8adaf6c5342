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

void Semaphore::release() {
    if (bound_ && value_ >= *bound_)
        throw ValueError(fmt::format("BoundedSemaphore released too many times (initial value {})", *bound_));
    ++value_;
    wake_next();
}

bool Semaphore::wake_next() noexcept {
    for (auto* w = waiters_.front(); w; w = detail::ParkedWaiter::List::next(*w)) {
        if (!w->woken()) {
            --value_;
            w->wake();
            return true;
        }
    }
    return false;
}

Semaphore::Permit Semaphore::Acquire::await_resume() {
    if (parked()) {
        unlink();
        const bool cancelled = take_cancel();
        if (cancelled && woken()) ++sem_.value_;  // woken, but will not take the permit
        sem_.wake_while_free();
        if (cancelled) throw_cancelled();
    }
    return Permit(sem_);
}

Semaphore::Acquire::~Acquire() {
    if (linked()) {
        unlink();
        if (woken()) {
            ++sem_.value_;
            sem_.wake_while_free();
        }
    }
}

}  // namespace corio
