// A task parked in a synchronisation primitive's wait list until another task wakes it:
// asyncio's bare future in locks.py and queues.py, without the allocation. Cancellation
// while parked unlinks it at once, so a cancelled waiter is never handed anything. A
// primitive destroyed while tasks wait on it (main returns while its workers wait in
// q.get()) detaches them: each resumes with RuntimeError, or with CancelledError if it is
// being cancelled, and never touches the primitive again.
#pragma once

#include "corio/detail/coroutine.hpp"
#include "corio/detail/wait_list.hpp"
#include "corio/detail/waiting.hpp"
#include "corio/event_loop.hpp"

namespace corio::detail {

class WaiterList;

class ParkedWaiter : public Waiting, public ListNode {
public:
    using List = WaiterList;

    ParkedWaiter() = default;
    ParkedWaiter(const ParkedWaiter& o) noexcept : Waiting(o), ListNode(o) {}
    inline ~ParkedWaiter();

    bool await_ready() const noexcept { return false; }
    template <class P>
    void park(List& list, coroutine_handle<P> h);
    // Queue this waiter's task; the waker decides whether it also leaves the list.
    void wake() {
        woken_ = true;
        resume();
    }
    inline bool cancel_wait() override;

    bool parked() const noexcept { return waited(); }
    bool woken() const noexcept { return woken_; }
    // The primitive went away while this waiter was in its list.
    bool orphaned() const noexcept { return orphaned_by_ != nullptr; }
    // First thing in await_resume after parking: if the primitive is gone, throw
    // (CancelledError if a cancellation is due, else RuntimeError) before touching it.
    void check_orphaned() {
        if (orphaned_by_) [[unlikely]]
            throw_orphaned();
    }
    using Waiting::take_cancel;
    using Waiting::throw_cancelled;
    inline void unlink() noexcept;

private:
    friend class WaiterList;
    // The primitive `owner` ("Lock", "Queue", ...) is being destroyed.
    void orphan(const char* owner) {
        list_ = nullptr;
        orphaned_by_ = owner;
        if (!woken_) resume();  // a woken waiter is queued already
    }
    [[noreturn]] void throw_orphaned();

    List* list_ = nullptr;
    const char* orphaned_by_ = nullptr;
    bool woken_ = false;
};

// A primitive's FIFO of parked waiters; destroying it detaches whoever still waits.
class WaiterList : public WaitList<ParkedWaiter> {
public:
    // `owner` names the primitive in the error its orphaned waiters get.
    explicit WaiterList(const char* owner) noexcept : owner_(owner) {}
    ~WaiterList() {
        while (ParkedWaiter* w = pop_front()) w->orphan(owner_);
    }

private:
    const char* owner_;
};

template <class P>
void ParkedWaiter::park(List& list, coroutine_handle<P> h) {
    list_ = &list;
    begin_wait(h);
    list.push_back(*this);
    suspend();
}

inline ParkedWaiter::~ParkedWaiter() {
    if (linked()) list_->remove(*this);
}

inline bool ParkedWaiter::cancel_wait() {
    if (list_) list_->remove(*this);
    resume_cancelled();
    return true;
}

inline void ParkedWaiter::unlink() noexcept {
    if (linked()) list_->remove(*this);
}

// co_await Park(list): wait until woken; CancelledError if cancelled meanwhile.
class Park : public ParkedWaiter {
public:
    explicit Park(List& list) noexcept : list_(list) {}
    template <class P>
    void await_suspend(coroutine_handle<P> h) {
        park(list_, h);
    }
    void await_resume() {
        check_orphaned();
        unlink();
        if (take_cancel()) throw_cancelled();
    }

private:
    List& list_;
};

}  // namespace corio::detail
