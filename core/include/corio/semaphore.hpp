// Semaphore and BoundedSemaphore: asyncio's, FIFO and cancellation-safe. The permit goes to
// the first waiter when it is woken; a woken waiter cancelled before it ran gives it back
// and wakes the next. `co_await s.acquire()` returns a permit released on scope exit.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>

#include "corio/detail/parked_waiter.hpp"

namespace corio {

class Semaphore {
public:
    class [[nodiscard]] Permit {
    public:
        Permit() = default;
        Permit(Permit&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
        Permit& operator=(Permit&& o) noexcept {
            if (this != &o) {
                release();
                sem_ = std::exchange(o.sem_, nullptr);
            }
            return *this;
        }
        ~Permit() { release(); }
        void release() {
            if (auto* s = std::exchange(sem_, nullptr)) s->release();
        }
        bool owns_permit() const noexcept { return sem_ != nullptr; }

    private:
        friend class Semaphore;
        explicit Permit(Semaphore& s) noexcept : sem_(&s) {}
        Semaphore* sem_ = nullptr;
    };

    class Acquire final : public detail::ParkedWaiter {
    public:
        explicit Acquire(Semaphore& s) noexcept : sem_(s) {}
        Acquire(const Acquire& o) noexcept : ParkedWaiter(o), sem_(o.sem_) {}
        ~Acquire();
        bool await_ready() noexcept {
            if (sem_.locked()) return false;
            --sem_.value_;
            return true;
        }
        template <class P>
        void await_suspend(detail::coroutine_handle<P> h) {
            park(sem_.waiters_, h);
        }
        Permit await_resume();

    private:
        Semaphore& sem_;
    };

    // ValueError if `value` is negative.
    explicit Semaphore(std::ptrdiff_t value = 1);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    Acquire acquire() noexcept { return Acquire(*this); }
    void release();
    // True when acquire() would have to wait.
    bool locked() const noexcept { return value_ == 0 || !waiters_.empty(); }
    std::ptrdiff_t value() const noexcept { return value_; }

protected:
    Semaphore(std::ptrdiff_t value, bool bounded);

private:
    bool wake_next() noexcept;
    void wake_while_free() noexcept {
        while (value_ > 0 && wake_next()) {
        }
    }
    std::ptrdiff_t value_;
    std::optional<std::ptrdiff_t> bound_;
    detail::ParkedWaiter::List waiters_;
};

// Releasing past the initial value throws ValueError: it catches a release without acquire.
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(std::ptrdiff_t value = 1) : Semaphore(value, true) {}
};

}  // namespace corio
