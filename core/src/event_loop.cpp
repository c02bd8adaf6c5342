// The loop's run cycle: wait or poll the backend, fire due timers, then run exactly the
// items that were ready when the iteration began (asyncio's rule: what they schedule runs
// next iteration, so sleep(0) lets every other ready task run once).
#include "corio/event_loop.hpp"

#include <cxxabi.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <typeinfo>

#include "corio/call_graph.hpp"
#include "corio/coro.hpp"
#include "corio/detail/thread_pool.hpp"
#include "corio/detail/tracer.hpp"
#include "corio/log.hpp"
#include "corio/task.hpp"

namespace corio {

namespace {
thread_local EventLoop* t_running_loop = nullptr;

// Polling the backend costs a system call; between polls the loop runs at most this many
// steps, so a busy ready queue neither starves I/O and timers nor pays a syscall per step.
constexpr std::size_t kStepsBetweenPolls = 64;

// asyncio's task repr, in C++ terms: `defined at` is where the coroutine is written (its
// frame knows), `created at` where create_task was called (kept in debug mode only, as
// asyncio keeps its source traceback).
std::string describe_task(const detail::TaskBase& t, detail::SourceLocation def) {
    std::string s = fmt::format("<Task name='{}'", t.name());
    if (def.line != 0) fmt::format_to(std::back_inserter(s), " coro={}() defined at {}:{}", detail::coroutine_name(def.function), def.file, def.line);
    const detail::FutureExtra* x = t.extra_if_any();
    if (x && x->spawned_at.line != 0) fmt::format_to(std::back_inserter(s), " created at {}:{}", x->spawned_at.file, x->spawned_at.line);
    s += '>';
    return s;
}
std::string describe_task(const detail::TaskBase& t) { return describe_task(t, t.created_at()); }

// "std::runtime_error: boom", as Python prints "ValueError: boom".
std::string describe_with_type(const std::exception_ptr& e) {
    if (!e) return "no exception";
    try {
        std::rethrow_exception(e);
    } catch (const CancelledError&) {
        return detail::describe(e);
    } catch (const std::exception& x) {
        const char* mangled = typeid(x).name();
        int status = 0;
        char* name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
        std::string out = fmt::format("{}: {}", status == 0 && name ? name : mangled, x.what());
        std::free(name);
        return out;
    } catch (...) {
        return detail::describe(e);
    }
}
}  // namespace

std::string format_exception_context(const ExceptionContext& context) {
    std::string text = context.message;
    if (context.task && *context.task) text += fmt::format("\ntask: {}", describe_task(*context.task->base()));
    if (context.exception) text += fmt::format("\nexception: {}", describe_with_type(context.exception));
    return text;
}

namespace detail {
EventLoop* running_loop() noexcept { return t_running_loop; }
void set_running_loop(EventLoop* loop) noexcept { t_running_loop = loop; }

TaskBase& current_task_ref(const char* what) {
    EventLoop* loop = t_running_loop;
    TaskBase* t = loop ? core(*loop).current_task_ptr() : nullptr;
    if (!t) throw RuntimeError(fmt::format("{} must be awaited inside a task", what));
    return *t;
}

void report_never_awaited(const PromiseBase& p) noexcept {
    try {
        // Python's warning line: "file:line: RuntimeWarning: coroutine 'f' was never awaited",
        // with the place where the coroutine is defined (a frame has no room for its caller's).
        log_line(fmt::format("{}:{}: RuntimeWarning: coroutine '{}' was never awaited", p.file_, p.line_,
                             coroutine_name(p.function_)));
    } catch (...) {
    }
}
}  // namespace detail

EventLoop& get_running_loop() {
    if (!t_running_loop) throw RuntimeError("no running event loop: call this inside a coroutine run by corio::run()");
    return *t_running_loop;
}

Task<> current_task() noexcept {
    EventLoop* loop = t_running_loop;
    return loop ? detail::task_handle<void>(detail::core(*loop).current_task_ptr()) : Task<>{};
}

std::vector<Task<>> all_tasks() {
    std::vector<Task<>> out;
    for (detail::TaskBase* t = detail::core(get_running_loop()).first_task(); t; t = t->next_in_loop)
        out.push_back(detail::task_handle<void>(t));
    return out;
}

namespace detail {
void Callback::fire() { core(*loop_).schedule_callback(this); }

void Callback::cancel() noexcept {
    if (cancelled_) return;
    cancelled_ = true;
    if (armed()) {
        core(*loop_).remove_timer(*this);
        unref();  // the timer heap's reference
    }
}
}  // namespace detail

namespace detail {
LoopCore::LoopCore(std::shared_ptr<Backend> backend) : backend_(std::move(backend)) {
    if (!backend_) throw ValueError("EventLoop needs a backend (corio::backends::libuv() or virtual_time())");
    thread_ = std::this_thread::get_id();
}

LoopCore::~LoopCore() = default;

void LoopCore::transfer_outside(TaskBase* t, coroutine_handle<> h) {
    report_resumed_outside(*t);
    schedule(t, h);
}

void LoopCore::report_resumed_outside(const TaskBase& t) noexcept {
    if (!debug_) return;
    try {
        log_line(fmt::format("{} was resumed outside the event loop (by a callback or another thread that "
                             "called resume() itself): resume tasks through corio::Waker, which queues the "
                             "step on the loop",
                             describe_task(t)));
    } catch (...) {
    }
}
}  // namespace detail

EventLoop::EventLoop(std::shared_ptr<Backend> backend, Options options)
    : LoopCore(std::move(backend)), slow_callback_(options.slow_callback_duration) {
    set_debug(options.debug);
    backend_->open(*this);
}

EventLoop::~EventLoop() {
    try {
        close();
    } catch (...) {
        // close() throws only while running, which a destroyed loop cannot be.
    }
}

void EventLoop::set_debug(bool on) noexcept {
    debug_ = on;
    instrumented_ = on || tracer_;
}

void EventLoop::start_tracing(const std::string& path) {
    check_thread("start_tracing");
    tracer_.reset();  // a second trace replaces the first, which is completed
    tracer_ = std::make_unique<detail::Tracer>(path);
    instrumented_ = true;
    // Tasks already running get their tracks named now.
    for (detail::TaskBase* t = tasks_head_; t; t = t->next_in_loop) tracer_->name_task(*t);
}

void EventLoop::stop_tracing() noexcept {
    tracer_.reset();
    instrumented_ = debug_;
}

void detail::LoopCore::on_task_created(detail::TaskBase& t, detail::SourceLocation at) noexcept {
    try {
        if (debug_) t.extra().spawned_at = at;
        if (tracer_) tracer_->task_created(t, at);
    } catch (...) {
        // Only a diagnostic is lost.
    }
}

void detail::LoopCore::trace_task_done(const detail::TaskBase& t) noexcept {
    try {
        tracer_->task_done(t);
    } catch (...) {
    }
}

void detail::LoopCore::trace_cancel(const detail::TaskBase& t) noexcept {
    try {
        tracer_->task_cancel_requested(t);
    } catch (...) {
    }
}

void detail::LoopCore::trace_timer_set(const detail::TimerNode& n, std::uint32_t from, std::uint32_t to) noexcept {
    try {
        tracer_->timer_set(&n, from, to);
    } catch (...) {
    }
}

void detail::LoopCore::trace_timer_removed(const detail::TimerNode& n) noexcept { tracer_->timer_removed(&n); }

void detail::LoopCore::check_thread_slow(const char* what) const {
    if (running_ && std::this_thread::get_id() != thread_)
        throw RuntimeError(fmt::format("{}() called from a thread other than the event loop's; "
                                       "use call_soon_threadsafe() from other threads",
                                       what));
}

void detail::LoopCore::throw_closed(const char* what) {
    throw RuntimeError(fmt::format("{}(): the event loop is closed", what));
}

std::int64_t EventLoop::deadline_of(double when) {
    if (std::isnan(when)) throw ValueError("call_at(): the time is NaN");
    // Saturate instead of overflowing the conversion: a time past ~292 years is "never".
    constexpr double kMax = 9.2e18;
    const double ns = when * 1e9;
    if (ns >= kMax) return detail::kNoDeadline - 1;
    if (ns <= -kMax) return -static_cast<std::int64_t>(kMax);
    return static_cast<std::int64_t>(ns);
}

TimerHandle EventLoop::add_callback_timer(std::int64_t deadline, detail::Callback* cb) {
    cb->ref();  // the handle's; the heap keeps the first
    timers_.push(*cb, deadline);
    if (tracer_) [[unlikely]]
        trace_timer_set(*cb, current_ ? static_cast<std::uint32_t>(current_->id()) : 0u, detail::Tracer::kCallbackTrack);
    return TimerHandle(cb, static_cast<double>(deadline) * 1e-9);
}

void detail::LoopCore::post_threadsafe(detail::Callback* cb) {
    std::lock_guard lock(inbox_mutex_);
    if (inbox_closed_) {
        cb->unref();
        throw RuntimeError("call_soon_threadsafe(): the event loop is closed");
    }
    inbox_.push_back(cb);
    inbox_pending_.store(true, std::memory_order_release);
    backend_->wake();  // under the lock: close() cannot release the backend in between
}

void detail::LoopCore::drain_inbox() {
    std::vector<detail::Callback*> items;
    {
        std::lock_guard lock(inbox_mutex_);
        items.swap(inbox_);
        inbox_pending_.store(false, std::memory_order_relaxed);
    }
    for (auto* cb : items) ready_.push({nullptr, cb});
}

void EventLoop::after_io() {
    steps_since_io_ = 0;
    if (inbox_pending_.load(std::memory_order_acquire)) drain_inbox();
    if (timers_.empty()) return;
    const std::int64_t now = backend_->now();
    while (!timers_.empty() && timers_.top()->deadline() <= now) {
        detail::TimerNode* n = timers_.pop();
        if (tracer_) [[unlikely]]
            tracer_->timer_fired(n);
        n->fire();
    }
}

void EventLoop::run_once() {
    if (ready_.empty()) {
        backend_->wait(timers_.next_deadline());
        after_io();
    } else if (steps_since_io_ >= kStepsBetweenPolls) {
        backend_->poll();
        after_io();
    }
    const std::size_t n = ready_.size();
    steps_since_io_ += n;
    run_ready(n);
    ready_.shrink_if_drained();
}

void EventLoop::run_ready(std::size_t n) {
    if (instrumented_) [[unlikely]] {
        while (n--) run_item_instrumented(ready_.pop());
        return;
    }
    while (n--) run_item(ready_.pop());
}

void EventLoop::run_item(detail::ReadyItem item) {
    if (detail::TaskBase* t = item.task()) {
        step(t, item.target());
        return;
    }
    auto* cb = static_cast<detail::Callback*>(item.target());
    if (!cb->cancelled()) {
        try {
            cb->invoke();
        } catch (...) {
            call_exception_handler(ExceptionContext{"Exception in callback", std::current_exception(), nullptr});
        }
    }
    cb->unref();
}

void EventLoop::run_item_instrumented(detail::ReadyItem item) {
    // Read the task from the frame now: a step that finishes its task destroys that frame
    // (and with it the location). The handle keeps the task itself alive for the report.
    detail::TaskBase* const t = item.task();
    Task<> task = detail::task_handle<void>(t);
    const detail::SourceLocation at = t && debug_ ? t->created_at() : detail::SourceLocation{};
    // The step may start or stop tracing: only a slice that was begun is ended.
    detail::Tracer* tracer = tracer_.get();
    const auto start = std::chrono::steady_clock::now();
    if (tracer) {
        if (t)
            tracer->begin_step(*t, item.target(), start);
        else
            tracer->begin_callback(start);
    }
    run_item(item);
    const auto end = std::chrono::steady_clock::now();
    const auto took = end - start;
    if (tracer && tracer == tracer_.get()) {
        try {
            if (t)
                tracer->end_step(*t, end);
            else
                tracer->end_callback(end);
        } catch (...) {
            // Only a slice of the trace is lost.
        }
    }
    if (debug_ && took > slow_callback_) {
        const double seconds = std::chrono::duration<double>(took).count();
        if (t)
            detail::log_line(fmt::format("Executing {} took {:.3f} seconds", describe_task(*t, at), seconds));
        else
            detail::log_line(fmt::format("Executing <Callback> took {:.3f} seconds", seconds));
    }
}

namespace {
// Makes `loop` this thread's running loop for the scope; refuses nesting.
class RunningScope {
public:
    RunningScope(EventLoop& loop, bool& running) : running_(running) {
        if (loop.is_closed()) throw RuntimeError("the event loop is closed");
        if (running) throw RuntimeError("this event loop is already running");
        if (detail::running_loop())
            throw RuntimeError("cannot run an event loop while another loop is running on this thread");
        running = true;
        detail::set_running_loop(&loop);
    }
    ~RunningScope() {
        running_ = false;
        detail::set_running_loop(nullptr);
    }

private:
    bool& running_;
};
}  // namespace

void EventLoop::run_until_complete(detail::FutureBase& f) {
    RunningScope scope(*this, running_);
    thread_ = std::this_thread::get_id();
    while (!f.done()) run_once();
}

std::int64_t EventLoop::run_for(std::chrono::nanoseconds budget) {
    constexpr std::size_t kChunk = 64;
    RunningScope scope(*this, running_);
    thread_ = std::this_thread::get_id();
    backend_->poll();
    after_io();
    // The budget is real time (the host's page must get its turn), also under virtual time.
    // The clock is read lazily: a pump that runs one short batch never reads it.
    const std::int64_t start = ready_.size() > kChunk ? backend_->real_now() : -1;
    std::int64_t end = start < 0 ? -1 : start + budget.count();
    // Iterations as run_once runs them (what is ready at the start of each), until nothing
    // is ready or the budget is spent; due timers and posted callbacks join between them.
    // The clock is read every kChunk items, so that one huge iteration (20,000 calls ready at
    // once) cannot hold the host for long: what is left of it stays at the front of the ready
    // queue and runs first next time, so the order is the same as without the break.
    bool spent = false;
    while (!ready_.empty() && !spent) {
        std::size_t n = ready_.size();
        while (n > 0) {
            const std::size_t k = std::min(n, kChunk);
            run_ready(k);
            n -= k;
            // The clock only when there is more to run (most pumps run one short batch).
            if (n > 0 || !ready_.empty()) {
                const std::int64_t t = backend_->real_now();
                if (end < 0) end = t + budget.count();  // from the first read: at most one chunk late
                if (t >= end) {
                    spent = true;
                    break;
                }
            }
        }
        if (n == 0) {
            ready_.shrink_if_drained();
            after_io();
        }
    }
    if (!ready_.empty()) return 0;
    const std::int64_t next = timers_.next_deadline();
    if (next == detail::kNoDeadline) return -1;
    return std::max<std::int64_t>(0, next - clock_ns());
}

void EventLoop::cancel_all_tasks() {
    RunningScope scope(*this, running_);
    // Tasks created while others are being cancelled are cancelled in the next round.
    while (tasks_head_) {
        std::vector<Task<>> pending;
        for (detail::TaskBase* t = tasks_head_; t; t = t->next_in_loop) pending.push_back(detail::task_handle<void>(t));
        for (auto& t : pending) t.cancel();
        for (auto& t : pending)
            while (!t.done()) run_once();
        for (auto& t : pending) {
            if (t.cancelled()) continue;
            if (auto e = t.exception()) {
                ExceptionContext ctx{"unhandled exception during corio::run() shutdown", e, &t};
                call_exception_handler(ctx);
            }
        }
    }
}

void EventLoop::run_in_thread(ThreadJob& job) {
    if (closed_) throw RuntimeError("the event loop is closed");
    ++external_work_;
    try {
        if (backend_->submit(job)) return;
        if (!pool_) pool_ = std::make_unique<detail::ThreadPool>(*this);
        pool_->submit(job);
    } catch (...) {
        --external_work_;  // not submitted: nothing will come back
        throw;
    }
}

void EventLoop::shutdown_asyncgens() {
    RunningScope scope(*this, running_);
    // One at a time, from the front: closing a generator may destroy others it owns (an
    // inner generator in its frame), which then leave the list instead of being closed twice.
    while (detail::AsyncGenHook* g = asyncgens_.front()) {
        g->unhook();
        Task<> closer = create_task(g->finalizer()(*g));
        while (!closer.done()) run_once();
        if (closer.cancelled()) continue;
        if (auto e = closer.exception()) {
            ExceptionContext ctx{"an error occurred during closing of an asynchronous generator", e, &closer};
            call_exception_handler(ctx);
        }
    }
}

void EventLoop::wait_for_thread_jobs() {
    if (external_work_ == 0) return;
    RunningScope scope(*this, running_);
    while (external_work_ > 0) run_once();
}

void EventLoop::close() {
    if (closed_) return;
    if (running_) throw RuntimeError("cannot close a running event loop");
    // Jobs still running on worker threads will post back to this loop: let them land.
    try {
        wait_for_thread_jobs();
    } catch (...) {
        detail::log_line("error while waiting for to_thread jobs during close(): " +
                         detail::describe(std::current_exception()));
    }
    pool_.reset();
    // Destroying a frame runs its destructors, which may wake or create other tasks.
    while (tasks_head_) {
        detail::TaskBase* t = tasks_head_;
        {
            // asyncio's message and context (the handler may look at the task, even keep it).
            Task<> task = detail::task_handle<void>(t);
            call_exception_handler(ExceptionContext{"Task was destroyed but it is pending!", nullptr, &task});
        }
        t->destroy_pending();
    }
    while (!ready_.empty()) {
        auto item = ready_.pop();
        // Frames of destroyed tasks are gone: look at the tag only.
        if (item.is_callback()) static_cast<detail::Callback*>(item.target())->unref();
    }
    while (!timers_.empty()) {
        detail::TimerNode* n = timers_.pop();
        if (auto* cb = dynamic_cast<detail::Callback*>(n)) cb->unref();
    }
    std::vector<detail::Callback*> late;
    {
        std::lock_guard lock(inbox_mutex_);
        inbox_closed_ = true;
        late.swap(inbox_);
    }
    for (auto* cb : late) cb->unref();
    while (detail::AsyncGenHook* g = asyncgens_.front()) g->unhook();
    closed_ = true;
    stop_tracing();
    backend_->close();
}

void EventLoop::call_exception_handler(const ExceptionContext& context) noexcept {
    if (exception_handler_) {
        try {
            exception_handler_(*this, context);
            return;
        } catch (...) {
            detail::log_line(fmt::format("Unhandled error in exception handler: {}",
                                         detail::describe(std::current_exception())));
        }
    }
    default_exception_handler(context);
}

void EventLoop::default_exception_handler(const ExceptionContext& context) noexcept {
    try {
        detail::log_line(format_exception_context(context));
    } catch (...) {
    }
}

}  // namespace corio
