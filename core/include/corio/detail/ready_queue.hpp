// The loop's ready queue: a growable power-of-two ring of one-word items, FIFO. Steady
// state allocates nothing; push and pop are a store and an index increment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "corio/detail/promise_base.hpp"

namespace corio::detail {

class TaskBase;
class Callback;

// A coroutine frame to resume, or a callback (tagged in the low bit). One word, not a
// (task, frame) pair: the frame's promise knows its task, and a million queued tasks then
// hold 8 MB of ring instead of 16.
class ReadyItem {
public:
    ReadyItem() = default;
    // `task` may be null: then `target` is a Callback*. Otherwise `task` must be the task
    // of the frame at `target`, which it is for every frame the loop schedules.
    ReadyItem(TaskBase* task, void* target) noexcept
        : bits_(reinterpret_cast<std::uintptr_t>(target) | (task ? 0u : 1u)) {}
    bool is_callback() const noexcept { return bits_ & 1u; }
    // The task to step, or nullptr for a callback. Reads the frame: only while it exists.
    TaskBase* task() const noexcept { return bits_ & 1u ? nullptr : promise_at(target()).task_; }
    // The coroutine frame to resume, or the Callback.
    void* target() const noexcept { return reinterpret_cast<void*>(bits_ & ~std::uintptr_t{1}); }

private:
    std::uintptr_t bits_ = 0;
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
