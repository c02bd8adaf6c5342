// The loop's timers: an intrusive binary min-heap ordered by (deadline, insertion order).
// Nodes live inside the awaiters that wait (no allocation per sleep) and know their heap
// slot, so a cancelled sleep leaves the heap at once instead of lingering as a dead entry.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "corio/detail/suspension.hpp"

namespace corio::detail {

inline constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();

class TimerHeap;

// A Suspension too, so that an awaiter that is a timer (a sleep) has one vtable pointer,
// not two; timers nobody awaits (callbacks, timeouts) refuse cancel_wait().
class TimerNode : public Suspension {
public:
    bool cancel_wait() override { return false; }
    // Runs on the loop's thread once the deadline has passed; the node is already unarmed.
    virtual void fire() = 0;
    std::int64_t deadline() const noexcept { return when_; }
    bool armed() const noexcept { return index_ != kUnarmed; }

protected:
    TimerNode() = default;
    TimerNode(const TimerNode&) noexcept {}  // a copy is never armed
    TimerNode& operator=(const TimerNode&) = delete;
    ~TimerNode() = default;
    // An unarmed node's deadline field is free: an awaiter may keep its delay there (one
    // field less in every sleeping frame) until push() overwrites it.
    void stash(std::int64_t v) noexcept { when_ = v; }

private:
    friend class TimerHeap;
    static constexpr std::uint32_t kUnarmed = std::numeric_limits<std::uint32_t>::max();
    std::int64_t when_ = 0;
    std::uint32_t seq_ = 0;  // compared wrap-around safe: see TimerHeap::less
    std::uint32_t index_ = kUnarmed;
};

class TimerHeap {
public:
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    TimerNode* top() const noexcept { return heap_.front(); }
    std::int64_t next_deadline() const noexcept { return heap_.empty() ? kNoDeadline : heap_.front()->when_; }

    void push(TimerNode& n, std::int64_t when) {
        n.when_ = when;
        n.seq_ = seq_++;
        n.index_ = static_cast<std::uint32_t>(heap_.size());
        heap_.push_back(&n);
        sift_up(n.index_);
    }

    void remove(TimerNode& n) noexcept {
        std::uint32_t i = n.index_;
        n.index_ = TimerNode::kUnarmed;
        TimerNode* last = heap_.back();
        heap_.pop_back();
        if (last == &n) return;
        heap_[i] = last;
        last->index_ = i;
        if (i > 0 && less(last, heap_[(i - 1) / 2]))
            sift_up(i);
        else
            sift_down(i);
    }

    TimerNode* pop() noexcept {
        TimerNode* n = heap_.front();
        remove(*n);
        return n;
    }

private:
    static bool less(const TimerNode* a, const TimerNode* b) noexcept {
        // Equal deadlines keep insertion order; the 32-bit sequence may wrap, which the
        // signed difference survives as long as such timers were armed < 2^31 apart.
        return a->when_ < b->when_ ||
               (a->when_ == b->when_ && static_cast<std::int32_t>(a->seq_ - b->seq_) < 0);
    }
    void place(std::uint32_t i, TimerNode* n) noexcept {
        heap_[i] = n;
        n->index_ = i;
    }
    void sift_up(std::uint32_t i) noexcept {
        TimerNode* n = heap_[i];
        while (i > 0) {
            std::uint32_t parent = (i - 1) / 2;
            if (!less(n, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, n);
    }
    void sift_down(std::uint32_t i) noexcept {
        TimerNode* n = heap_[i];
        const auto size = static_cast<std::uint32_t>(heap_.size());
        for (;;) {
            std::uint32_t child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && less(heap_[child + 1], heap_[child])) ++child;
            if (!less(heap_[child], n)) break;
            place(i, heap_[child]);
            i = child;
        }
        place(i, n);
    }

    std::vector<TimerNode*> heap_;
    std::uint32_t seq_ = 0;
};

}  // namespace corio::detail
