// How the loop knows the async generators that were started and have not finished, so that
// run() can close them (asyncio's shutdown_asyncgens) before the loop goes away.
#pragma once

#include "corio/detail/wait_list.hpp"

namespace corio {
template <class T>
class Coro;
}

namespace corio::detail {

// Not polymorphic on purpose: a vtable would make the hook the primary base of the
// generator's promise and push PromiseBase off offset 0, where the call graph expects to find
// it in every corio frame (see promise_at in promise_base.hpp). A function pointer costs the same.
class AsyncGenHook : public ListNode {
public:
    using List = WaitList<AsyncGenHook>;
    using Finalizer = Coro<void> (*)(AsyncGenHook&);
    // Makes the coroutine that closes the generator (its aclose()): finalizer()(hook).
    Finalizer finalizer() const noexcept { return finalize_; }

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
    explicit AsyncGenHook(Finalizer f) noexcept : finalize_(f) {}
    ~AsyncGenHook() { unhook(); }

private:
    Finalizer finalize_;
    List* list_ = nullptr;
};

}  // namespace corio::detail
