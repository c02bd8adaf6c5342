// Event: asyncio.Event. set() wakes every waiter; wait() returns at once while it is set.
#pragma once

#include "corio/detail/parked_waiter.hpp"

namespace corio {

class Event {
public:
    class Wait final : public detail::ParkedWaiter {
    public:
        explicit Wait(Event& e) noexcept : event_(e) {}
        Wait(const Wait& o) noexcept : ParkedWaiter(o), event_(o.event_) {}
        bool await_ready() const noexcept { return event_.set_; }
        template <class P>
        void await_suspend(detail::coroutine_handle<P> h) {
            park(event_.waiters_, h);
        }
        bool await_resume() {
            if (parked()) {
                check_orphaned();
                if (take_cancel()) throw_cancelled();
            }
            return true;
        }

    private:
        Event& event_;
    };

    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    void set() noexcept {
        if (set_) return;
        set_ = true;
        while (auto* w = waiters_.pop_front()) w->wake();
    }
    void clear() noexcept { set_ = false; }
    bool is_set() const noexcept { return set_; }
    Wait wait() noexcept { return Wait(*this); }

private:
    bool set_ = false;
    detail::WaiterList waiters_{"Event"};
};

}  // namespace corio
