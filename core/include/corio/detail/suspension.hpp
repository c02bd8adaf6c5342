// What a suspended task waits on, as the task's cancel() sees it. Its own header because
// both the awaitables of futures and the timer nodes (a sleep is both) derive from it.
#pragma once

namespace corio::detail {

// What a suspended task is waiting on. Task::cancel() calls cancel_wait() on it: the awaitable
// unregisters and arranges for the task to resume with CancelledError, or hands the request
// on (awaiting a task cancels that task). Returns false if the request was not taken.
class Suspension {
public:
    virtual bool cancel_wait() = 0;

protected:
    ~Suspension() = default;
};

}  // namespace corio::detail
