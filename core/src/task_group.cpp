// TaskGroup's rules, ported from asyncio/taskgroups.py (3.12): who cancels whom, when the
// parent's cancellation is taken back (uncancel), and what the group finally raises.
#include "corio/task_group.hpp"

#include <fmt/format.h>


namespace corio {

TaskGroup::~TaskGroup() {
    // Only reached with children pending if the frame holding the group is destroyed
    // mid-wait (loop closing): detach so that no child calls back into a dead group.
    while (Child* c = children_) {
        unlink(*c);
        if (c->registered()) c->task.base()->remove_waiter(*c);
        c->group = nullptr;
        c->cancel();  // a reaction still queued does nothing
        c->unref();   // the list's reference
    }
}

void TaskGroup::unlink(Child& c) noexcept {
    if (c.prev)
        c.prev->next = c.next;
    else
        children_ = c.next;
    if (c.next)
        c.next->prev = c.prev;
    else
        last_child_ = c.prev;
    c.prev = c.next = nullptr;
}

void TaskGroup::check_open(const char* function) {
    if (finished_ || (exiting_ && pending_ == 0))
        throw RuntimeError(fmt::format("TaskGroup is finished: cannot start '{}'", function));
    if (aborting_) throw RuntimeError(fmt::format("TaskGroup is shutting down: cannot start '{}'", function));
}

void TaskGroup::adopt(detail::TaskBase& t) {
    auto* child = new Child(*this, t);
    ++pending_;
    t.add_waiter(*child);
    // Appended: abort() cancels in creation order, as asyncio does.
    child->prev = last_child_;
    if (last_child_)
        last_child_->next = child;
    else
        children_ = child;
    last_child_ = child;
}

void TaskGroup::abort() {
    aborting_ = true;
    for (Child* c = children_; c; c = c->next)
        if (!c->task.done()) c->task.cancel();
}

void TaskGroup::on_child_done(Child& c) {
    --pending_;
    unlink(c);
    const Task<> task = std::move(c.task);
    c.group = nullptr;
    c.unref();  // the list's; the ready queue's goes once this reaction returns
    detail::TaskBase& t = *task.base();
    if (t.state() == detail::FutureState::failed) {
        t.mark_retrieved();
        errors_.push_back(t.stored_exception());
        if (!aborting_ && !parent_cancel_requested_) {
            // Interrupt whatever the body awaits now; exit() takes the cancellation back.
            abort();
            parent_cancel_requested_ = true;
            parent_.cancel();
        }
    }
    if (pending_ == 0 && exit_waiter_) exit_waiter_->wake();
}

TaskGroup::Exit TaskGroup::exit(std::exception_ptr body_error) {
    exiting_ = true;
    const bool body_cancelled = detail::is_cancellation(body_error);
    propagate_cancellation_ = body_cancelled;
    if (parent_cancel_requested_ && parent_.uncancel() == 0) propagate_cancellation_ = false;
    if (body_error && !aborting_) abort();
    if (body_error && !body_cancelled) pending_body_error_ = body_error;
    return Exit(*this);
}

bool TaskGroup::Exit::cancel_wait() {
    if (!group.aborting_) {
        group.propagate_cancellation_ = true;
        group.abort();
    }
    return true;  // taken: the wait goes on until the children are done
}

void TaskGroup::Exit::wake() {
    group.exit_waiter_ = nullptr;
    resume();
}

void TaskGroup::Exit::await_resume() {
    TaskGroup& g = group;
    if (waited()) {
        // A cancellation that arrived after the last child finished: asyncio catches it in
        // the same wait loop.
        try {
            g.parent_.resume_check(false);
        } catch (const CancelledError&) {
            if (!g.aborting_) g.propagate_cancellation_ = true;
        }
    }
    g.finished_ = true;
    if (g.propagate_cancellation_ && g.errors_.empty()) throw g.parent_.make_cancelled_error();
    if (g.pending_body_error_) g.errors_.push_back(g.pending_body_error_);
    if (!g.errors_.empty()) throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(g.errors_));
}

}  // namespace corio
