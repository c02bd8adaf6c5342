// An intrusive FIFO list of waiters: O(1) append, unlink from anywhere, pop from the front.
// Nodes live in the awaiters inside coroutine frames, so parking a task allocates nothing
// and a cancelled waiter leaves its list at once.
#pragma once

#include <cstddef>

namespace corio::detail {

class ListNode {
public:
    bool linked() const noexcept { return pprev_ != nullptr; }

protected:
    ListNode() = default;
    ListNode(const ListNode&) noexcept {}  // a copy is never linked
    ListNode& operator=(const ListNode&) = delete;
    ~ListNode() = default;

private:
    template <class N>
    friend class WaitList;
    ListNode* next_ = nullptr;
    ListNode** pprev_ = nullptr;
};

template <class N>  // N derives from ListNode
class WaitList {
public:
    WaitList() = default;
    WaitList(const WaitList&) = delete;
    WaitList& operator=(const WaitList&) = delete;

    bool empty() const noexcept { return head_ == nullptr; }
    N* front() const noexcept { return static_cast<N*>(head_); }
    static N* next(const N& n) noexcept { return static_cast<N*>(n.ListNode::next_); }

    void push_back(N& n) noexcept {
        ListNode& node = n;
        node.next_ = nullptr;
        node.pprev_ = tail_;
        *tail_ = &node;
        tail_ = &node.next_;
    }
    void remove(N& n) noexcept {
        ListNode& node = n;
        if (!node.pprev_) return;
        *node.pprev_ = node.next_;
        if (node.next_)
            node.next_->pprev_ = node.pprev_;
        else
            tail_ = node.pprev_;
        node.next_ = nullptr;
        node.pprev_ = nullptr;
    }
    N* pop_front() noexcept {
        N* n = front();
        if (n) remove(*n);
        return n;
    }
    std::size_t size() const noexcept {
        std::size_t k = 0;
        for (ListNode* n = head_; n; n = n->next_) ++k;
        return k;
    }

private:
    ListNode* head_ = nullptr;
    ListNode** tail_ = &head_;
};

}  // namespace corio::detail
