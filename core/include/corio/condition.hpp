// Condition: asyncio.Condition (3.13's rules). wait() releases the lock, waits for notify,
// and re-acquires the lock before returning — also when cancelled, and then the
// notification it may have received is passed on to the next waiter.
#pragma once

#include <cstddef>
#include <type_traits>

#include "corio/coro.hpp"
#include "corio/detail/parked_waiter.hpp"
#include "corio/lock.hpp"

namespace corio {

class Condition {
public:
    Condition() noexcept : lock_(own_lock_) {}
    // Shares `lock` (which must outlive the condition) with other code or conditions.
    explicit Condition(Lock& lock) noexcept : lock_(lock) {}
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    Lock::Acquire acquire() noexcept { return lock_.acquire(); }
    void release() { lock_.release(); }
    bool locked() const noexcept { return lock_.locked(); }

    // Must be called with the lock held (RuntimeError otherwise). Returns true.
    Coro<bool> wait();
    // Waits until pred() is true (checked first, then after each notify); returns its value.
    template <class Pred>
    Coro<std::invoke_result_t<Pred&>> wait_for(Pred pred) {
        auto result = pred();
        while (!result) {
            co_await wait();
            result = pred();
        }
        co_return result;
    }
    // Wake up to n waiters; must be called with the lock held (RuntimeError otherwise).
    void notify(std::size_t n = 1);
    void notify_all();

private:
    void wake(std::size_t n) noexcept;
    Lock own_lock_;
    Lock& lock_;
    detail::WaiterList waiters_{"Condition"};
};

}  // namespace corio
