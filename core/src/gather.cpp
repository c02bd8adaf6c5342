// gather's bookkeeping, shared by the tuple and vector shapes: asyncio's _GatheringFuture,
// except that the first failure cancels the siblings and waits for them (see gather.hpp).
#include "corio/gather.hpp"

namespace corio::detail {

bool GatherBase::ready() {
    remaining_ = 0;
    for (std::size_t i = 0; i < n_; ++i) {
        TaskBase& t = *children_[i].task;
        if (t.done())
            note_result(t);
        else
            ++remaining_;
    }
    return remaining_ == 0;
}

void GatherBase::register_children() noexcept {
    for (std::size_t i = 0; i < n_; ++i)
        if (!children_[i].task->done()) children_[i].task->add_waiter(children_[i]);
}

void GatherBase::child_done(Child& c) {
    note_result(*c.task);
    if (--remaining_ == 0) resume();
}

void GatherBase::note_result(TaskBase& t) {
    if (t.state() == FutureState::succeeded) return;
    t.mark_retrieved();  // gather answers for every child's exception
    // Once the awaiter was cancelled every child already got its one cancel(): a child that
    // then ends (cancelled or failed) must not make gather cancel the others again.
    if (return_exceptions_ || first_error_ || cancel_requested_) return;
    first_error_ = t.stored_exception();
    cancel_pending({});
}

void GatherBase::cancel_pending(const std::string& msg) {
    for (std::size_t i = 0; i < n_; ++i)
        if (!children_[i].task->done()) children_[i].task->cancel(msg);
}

bool GatherBase::cancel_wait() {
    // The awaiting task is being cancelled: cancel every child and keep waiting for them.
    bool any = false;
    for (std::size_t i = 0; i < n_; ++i)
        if (children_[i].task->cancel(task_->cancel_message())) any = true;
    if (any) cancel_requested_ = true;
    return any;
}

void GatherBase::check_resume() {
    if (waited()) task_->resume_check(false);
    if (cancel_requested_) throw_cancelled();
    if (first_error_) std::rethrow_exception(first_error_);
}

void GatherBase::unregister() noexcept {
    for (std::size_t i = 0; i < n_; ++i)
        if (children_[i].registered()) children_[i].task->remove_waiter(children_[i]);
}

}  // namespace corio::detail
