// Semaphore and BoundedSemaphore: asyncio's, FIFO and cancellation-safe. The permit goes to
// the first waiter when it is woken; a woken waiter cancelled before it ran gives it back
// and wakes the next.
//   auto permit = co_await s.acquire();   // given back when `permit` dies (or permit.release())
//   co_await s.acquire(); ...; s.release();   // Python's pair works too
// The permit stays in the acquire awaiter until it is moved out; one never moved out stays
// taken, for release(). Permits that outlive their semaphore do nothing when they die.
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
        Permit(Permit&& o) noexcept { take_over(o); }
        Permit& operator=(Permit&& o) noexcept {
            if (this != &o) {
                release();
                take_over(o);
            }
            return *this;
        }
        ~Permit() { release(); }
        // Gives the permit back now; later calls do nothing. Never throws: a BoundedSemaphore
        // already released back to its bound by hand (s.release()) is left as it is.
        void release() noexcept {
            if (Semaphore* s = sem_) {
                detach();
                s->give_back();
            }
        }
        bool owns_permit() const noexcept { return sem_ != nullptr; }

    private:
        friend class Semaphore;
        void attach(Semaphore& s) noexcept {
            sem_ = &s;
            next_ = s.permits_;
            if (next_) next_->prev_ = this;
            s.permits_ = this;
        }
        void detach() noexcept {
            if (prev_)
                prev_->next_ = next_;
            else
                sem_->permits_ = next_;
            if (next_) next_->prev_ = prev_;
            sem_ = nullptr;
            prev_ = next_ = nullptr;
        }
// g++ 12 warns that a moved-to temporary Permit stores its address in the list; it unlinks
// itself when it dies, which the warning cannot see.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
        void take_over(Permit& o) noexcept {
            sem_ = std::exchange(o.sem_, nullptr);
            if (!sem_) return;
            prev_ = std::exchange(o.prev_, nullptr);
            next_ = std::exchange(o.next_, nullptr);
            if (prev_)
                prev_->next_ = this;
            else
                sem_->permits_ = this;
            if (next_) next_->prev_ = this;
        }
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif
        Semaphore* sem_ = nullptr;
        // The semaphore's list of live permits, so that it can disown them when it dies.
        Permit* prev_ = nullptr;
        Permit* next_ = nullptr;
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
        // The permit, to be moved out (`auto permit = co_await s.acquire();`).
        Permit&& await_resume();

    private:
        Semaphore& sem_;
        Permit permit_;
    };

    // ValueError if `value` is negative.
    explicit Semaphore(std::ptrdiff_t value = 1);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;
    ~Semaphore();

    Acquire acquire() noexcept { return Acquire(*this); }
    // Python's release(): one more permit (ValueError past a BoundedSemaphore's bound).
    void release();
    // True when acquire() would have to wait.
    bool locked() const noexcept { return value_ == 0 || !waiters_.empty(); }
    std::ptrdiff_t value() const noexcept { return value_; }

protected:
    Semaphore(std::ptrdiff_t value, bool bounded);

private:
    void give_back() noexcept;
    bool wake_next() noexcept;
    void wake_while_free() noexcept {
        while (value_ > 0 && wake_next()) {
        }
    }
    std::ptrdiff_t value_;
    std::optional<std::ptrdiff_t> bound_;
    Permit* permits_ = nullptr;
    detail::WaiterList waiters_{"Semaphore"};
};

// Releasing past the initial value throws ValueError: it catches a release without acquire.
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(std::ptrdiff_t value = 1) : Semaphore(value, true) {}
};

}  // namespace corio
