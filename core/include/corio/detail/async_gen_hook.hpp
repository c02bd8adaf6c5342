// How the loop knows the async generators that were started and have not finished, so that
// run() can close them (asyncio's shutdown_asyncgens) before the loop goes away.
#pragma once

#include "corio/detail/wait_list.hpp"

namespace corio {
template <class T>
class Coro;
}

namespace corio::detail {

class AsyncGenHook : public ListNode {
public:
    using List = WaitList<AsyncGenHook>;
    // A coroutine that closes the generator (its aclose()).
    virtual Coro<void> finalize() = 0;

    void hook_into(List& list) noexcept {
        list_ = &list;
        list.push_back(*this);
    }
    void unhook() noexcept {
        if (list_) list_->remove(*this);
        list_ = nullptr;
    }
    bool hooked() const noexcept { return list_ != nullptr; }

protected:
    AsyncGenHook() = default;
    ~AsyncGenHook() { unhook(); }

private:
    List* list_ = nullptr;
};

}  // namespace corio::detail
