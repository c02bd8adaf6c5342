// Handles returned by call_soon and call_later: cancel a callback before it runs. As in
// asyncio, cancelling a callback that has already run (or is running) does nothing.
#pragma once

#include <cstdint>
#include <utility>

#include "corio/detail/timer_heap.hpp"

namespace corio {

class EventLoop;

namespace detail {

class Callback : public TimerNode {
public:
    explicit Callback(EventLoop& loop) noexcept : loop_(&loop) {}
    virtual ~Callback() = default;
    virtual void invoke() = 0;
    void fire() override;  // the deadline of call_later passed: queue it

    void ref() noexcept { ++refs_; }
    void unref() noexcept {
        if (--refs_ == 0) delete this;
    }
    void cancel() noexcept;
    bool cancelled() const noexcept { return cancelled_; }
    EventLoop& loop() const noexcept { return *loop_; }

private:
    std::uint32_t refs_ = 1;
    bool cancelled_ = false;
    EventLoop* loop_;
};

template <class F>
class CallbackFn final : public Callback {
public:
    CallbackFn(EventLoop& loop, F f) : Callback(loop), f_(std::move(f)) {}
    void invoke() override { f_(); }

private:
    F f_;
};

}  // namespace detail

class Handle {
public:
    Handle() = default;
    Handle(const Handle& o) noexcept : cb_(o.cb_) {
        if (cb_) cb_->ref();
    }
    Handle(Handle&& o) noexcept : cb_(std::exchange(o.cb_, nullptr)) {}
    Handle& operator=(Handle o) noexcept {
        std::swap(cb_, o.cb_);
        return *this;
    }
    ~Handle() {
        if (cb_) cb_->unref();
    }

    // The callback will not run. No effect if it already ran.
    void cancel() noexcept {
        if (cb_) cb_->cancel();
    }
    bool cancelled() const noexcept { return cb_ && cb_->cancelled(); }
    explicit operator bool() const noexcept { return cb_ != nullptr; }

protected:
    friend class EventLoop;
    explicit Handle(detail::Callback* adopted) noexcept : cb_(adopted) {}
    detail::Callback* cb_ = nullptr;
};

class TimerHandle : public Handle {
public:
    TimerHandle() = default;
    // When it is (or was) due, in the loop's time() scale (seconds).
    double when() const noexcept { return when_; }

private:
    friend class EventLoop;
    TimerHandle(detail::Callback* adopted, double when) noexcept : Handle(adopted), when_(when) {}
    double when_ = 0;
};

}  // namespace corio
