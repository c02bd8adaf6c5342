// FutureBase and TaskBase: completion, waking in FIFO order, done callbacks, asyncio's
// cancellation bookkeeping, and the diagnostics tied to a future's life.
#include <fmt/format.h>

#include "corio/coro.hpp"
#include "corio/detail/future_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/event_loop.hpp"
#include "corio/log.hpp"
#include "corio/task.hpp"

namespace corio::detail {

namespace {
// Keeps a future alive until a scheduled callback has run (or was dropped unrun).
struct FutureRef {
    FutureBase* f;
    explicit FutureRef(FutureBase* fb) noexcept : f(fb) { f->ref(); }
    FutureRef(FutureRef&& o) noexcept : f(std::exchange(o.f, nullptr)) {}
    FutureRef(const FutureRef&) = delete;
    ~FutureRef() {
        if (f) f->unref();
    }
};

void schedule_done_callback(EventLoop& loop, FutureBase& f, std::function<void(FutureBase&)> cb) {
    loop.call_soon([ref = FutureRef(&f), cb = std::move(cb)]() mutable { cb(*ref.f); });
}
}  // namespace

// A done callback waits in the same list as awaiters, so both are woken in one FIFO order.
class DoneCallback final : public FutureWaiter {
public:
    explicit DoneCallback(std::function<void(FutureBase&)> cb) : cb_(std::move(cb)) {}
    void on_future_done(FutureBase& f) override {
        try {
            schedule_done_callback(f.loop(), f, std::move(cb_));
        } catch (...) {
            // Only a closed loop refuses, and then the callback can never run.
        }
        delete this;
    }
    void on_future_dropped() noexcept override { delete this; }

private:
    std::function<void(FutureBase&)> cb_;
};

FutureBase::~FutureBase() {
    report_unretrieved("Future", {});
    while (FutureWaiter* w = waiters_.pop_front()) w->on_future_dropped();
}

void FutureBase::report_unretrieved(const char* what, const std::string& who) noexcept {
    if (state_ != FutureState::failed || retrieved_) return;
    retrieved_ = true;
    try {
        const std::exception_ptr& e = stored_exception();
        std::string msg = fmt::format("{} exception was never retrieved{}: {}", what, who, describe(e));
        // The loop may be gone when the last handle dies after run(); use it only if it runs here.
        if (running_loop() == loop_)
            loop_->call_exception_handler(ExceptionContext{msg, e, nullptr});
        else
            log_line(msg);
    } catch (...) {
    }
}

void FutureBase::release_unretrieved() noexcept {
    refs_ = 1;  // alive again while reported
    retrieved_ = true;
    try {
        auto* task = dynamic_cast<TaskBase*>(this);
        Task<> handle = task_handle<void>(task);
        const ExceptionContext context{fmt::format("{} exception was never retrieved", task ? "Task" : "Future"),
                                       stored_exception(), task ? &handle : nullptr};
        // The loop may be gone when the last handle dies after run(); use it only if it runs here.
        if (running_loop() == loop_)
            loop_->call_exception_handler(context);
        else
            log_line(format_exception_context(context));
    } catch (...) {
    }
    unref();
}

bool FutureBase::cancel(std::string msg) {
    if (done()) return false;
    store_exception(std::make_exception_ptr(CancelledError(std::move(msg))), true);
    complete();
    return true;
}

const std::exception_ptr& FutureBase::stored_exception() const noexcept {
    static const std::exception_ptr none;
    return extra_ ? extra_->exception : none;
}

std::exception_ptr FutureBase::exception() {
    if (!done()) throw InvalidStateError("exception() called before the Task/Future is done: await it first");
    retrieved_ = true;
    if (state_ == FutureState::cancelled) std::rethrow_exception(extra_->exception);
    return stored_exception();
}

void FutureBase::rethrow_if_failed() {
    if (!done()) throw InvalidStateError("result() called before the Task/Future is done: await it first");
    retrieved_ = true;
    if (state_ != FutureState::succeeded) std::rethrow_exception(extra_->exception);
}

void FutureBase::add_done_callback(std::function<void(FutureBase&)> cb) {
    if (done())
        schedule_done_callback(*loop_, *this, std::move(cb));
    else
        waiters_.push_back(*new DoneCallback(std::move(cb)));
}

void FutureBase::store_exception(std::exception_ptr e, bool cancellation) noexcept {
    state_ = cancellation ? FutureState::cancelled : FutureState::failed;
    extra().exception = std::move(e);  // noexcept: only running out of memory terminates
}

void FutureBase::complete() noexcept {
    while (FutureWaiter* w = waiters_.pop_front()) w->on_future_done(*this);
}

TaskBase::~TaskBase() {
    // Here, not in ~FutureBase: by then this is no longer a TaskBase to describe.
    if (state_ == FutureState::failed && !retrieved_) {
        // No virtual calls here: the location kept by finish_root is all there is.
        const SourceLocation at = extra_ ? extra_->created_at : SourceLocation{};
        report_unretrieved("Task", fmt::format(" (task '{}' created at {}:{})", name(), at.file, at.line));
    }
    if (frame_) root().destroy();  // a finished task (the usual case) has no frames
}

coroutine_handle<> TaskBase::root() const noexcept {
    void* f = frame_;
    while (f) {
        const PromiseBase& p = promise_at(f);
        if (!p.continuation_) break;
        f = p.continuation_.address();
    }
    return coroutine_handle<>::from_address(f);
}

SourceLocation TaskBase::created_at() const noexcept {
    if (frame_) return root_location();
    if (extra_) return extra_->created_at;
    return {};
}

void TaskBase::keep_location(SourceLocation at) noexcept {
    try {
        extra().created_at = at;
    } catch (...) {
        // Only a diagnostic is lost.
    }
}

std::string TaskBase::name() const {
    if (extra_ && !extra_->name.empty()) return extra_->name;
    return fmt::format("Task-{}", id_);
}

const std::string& TaskBase::cancel_message() const noexcept {
    static const std::string empty;
    return extra_ ? extra_->cancel_message : empty;
}

CancelledError TaskBase::make_cancelled_error() const { return CancelledError(cancel_message()); }

namespace {
// What a task waits on while its cancellation is being passed on (see TaskBase::cancel).
struct CycleMarker final : Suspension {
    bool cancel_wait() override { return false; }
} cycle_marker;
}  // namespace

bool TaskBase::cancel(std::string msg) {
    if (done()) return false;
    if (waiting_on_ == &cycle_marker) return false;  // a cycle: see below
    ++num_cancels_;
    if (!msg.empty() || extra_) extra().cancel_message = std::move(msg);
    core(*loop_).note_cancel(*this);
    if (Suspension* s = waiting_on_) {
        // Passing the request on can come back here when tasks await each other in a cycle
        // (a deadlock): the marker makes that inner call refuse, so the awaiter that made it
        // raises CancelledError in its own task instead of recursing until the stack
        // overflows (asyncio raises RecursionError there).
        waiting_on_ = &cycle_marker;
        const bool taken = s->cancel_wait();
        if (waiting_on_ == &cycle_marker) waiting_on_ = s;  // not woken: still waits on s
        if (taken) return true;
    }
    must_cancel_ = true;
    return true;
}

void TaskBase::finish() noexcept {
    core(*loop_).unlink_task(this);
    complete();
    unref();  // the loop's reference
}

void TaskBase::finish_unstarted() noexcept {
    must_cancel_ = false;
    auto r = root();
    forget_frames();
    r.destroy();
    store_exception(std::make_exception_ptr(make_cancelled_error()), true);
    finish();
}

void TaskBase::destroy_pending() noexcept {
    ref();
    auto r = root();
    forget_frames();
    if (r) r.destroy();
    waiting_on_ = nullptr;
    if (!done()) {
        store_exception(std::make_exception_ptr(CancelledError("Task was destroyed but it is pending")), true);
        retrieved_ = true;
        finish();
    }
    unref();
}

}  // namespace corio::detail
