// The loop's ready queue: a growable power-of-two ring of (task, coroutine) pairs, FIFO.
// Steady state allocates nothing; push and pop are a store and an index increment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace corio::detail {

class TaskBase;
class Callback;

struct ReadyItem {
    TaskBase* task;  // the task to step, or nullptr: then `target` is a Callback*
    void* target;    // the coroutine frame to resume (or the callback)
};

class ReadyQueue {
public:
    ReadyQueue() : buf_(new ReadyItem[kInitial]), mask_(kInitial - 1) {}

    bool empty() const noexcept { return head_ == tail_; }
    std::size_t size() const noexcept { return tail_ - head_; }

    void push(ReadyItem item) {
        if (tail_ - head_ > mask_) grow();
        buf_[tail_++ & mask_] = item;
    }
    ReadyItem pop() noexcept { return buf_[head_++ & mask_]; }

    // After a burst (a million tasks created at once) the ring would keep its peak size for
    // the loop's life; once it is nearly drained, a large ring goes back to the initial size.
    void shrink_if_drained() {
        if (mask_ >= kShrinkAbove && size() <= kInitial / 2) [[unlikely]] {
            std::unique_ptr<ReadyItem[]> small(new ReadyItem[kInitial]);
            const std::size_t n = size();
            for (std::size_t i = 0; i < n; ++i) small[i] = buf_[(head_ + i) & mask_];
            buf_ = std::move(small);
            mask_ = kInitial - 1;
            head_ = 0;
            tail_ = n;
        }
    }

private:
    static constexpr std::size_t kInitial = 256;
    static constexpr std::size_t kShrinkAbove = 16 * 1024;
    void grow() {
        std::size_t cap = mask_ + 1;
        std::unique_ptr<ReadyItem[]> bigger(new ReadyItem[cap * 2]);
        for (std::size_t i = 0; i < cap; ++i) bigger[i] = buf_[(head_ + i) & mask_];
        buf_ = std::move(bigger);
        head_ = 0;
        tail_ = cap;
        mask_ = cap * 2 - 1;
    }

    std::unique_ptr<ReadyItem[]> buf_;
    std::size_t mask_;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
};

}  // namespace corio::detail
