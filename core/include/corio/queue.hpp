// Queue<T>, LifoQueue<T>, PriorityQueue<T>: asyncio's queues. put() waits while the queue is
// full, get() while it is empty; items stay in the queue until a getter takes them, so
// cancelling a waiter never loses or duplicates an item, and a timed-out get leaves no
// waiter behind. task_done()/join() count unfinished items.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "corio/coro.hpp"
#include "corio/detail/parked_waiter.hpp"
#include "corio/errors.hpp"
#include "corio/event.hpp"

namespace corio {

namespace detail {

template <class T>
struct FifoStore {
    std::deque<T> items;
    void push(T v) { items.push_back(std::move(v)); }
    T pop() {
        T v = std::move(items.front());
        items.pop_front();
        return v;
    }
    std::size_t size() const noexcept { return items.size(); }
};

template <class T>
struct LifoStore {
    std::vector<T> items;
    void push(T v) { items.push_back(std::move(v)); }
    T pop() {
        T v = std::move(items.back());
        items.pop_back();
        return v;
    }
    std::size_t size() const noexcept { return items.size(); }
};

// Smallest first, as Python's heapq; equal items in insertion order.
template <class T, class Compare>
struct PriorityStore {
    struct Entry {
        T value;
        std::uint64_t seq;
    };
    std::vector<Entry> heap;
    std::uint64_t seq = 0;
    Compare less{};
    bool after(const Entry& a, const Entry& b) const {  // a pops after b
        if (less(a.value, b.value)) return false;
        if (less(b.value, a.value)) return true;
        return a.seq > b.seq;
    }
    void push(T v) {
        heap.push_back(Entry{std::move(v), seq++});
        std::push_heap(heap.begin(), heap.end(), [this](const Entry& a, const Entry& b) { return after(a, b); });
    }
    T pop() {
        std::pop_heap(heap.begin(), heap.end(), [this](const Entry& a, const Entry& b) { return after(a, b); });
        T v = std::move(heap.back().value);
        heap.pop_back();
        return v;
    }
    std::size_t size() const noexcept { return heap.size(); }
};

[[noreturn]] void throw_task_done_too_often();

template <class T, class Store>
class BasicQueue {
public:
    // maxsize <= 0: unbounded.
    explicit BasicQueue(std::ptrdiff_t maxsize = 0) : maxsize_(maxsize > 0 ? static_cast<std::size_t>(maxsize) : 0) {
        finished_.set();
    }
    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;

    std::size_t qsize() const noexcept { return store_.size(); }
    std::size_t maxsize() const noexcept { return maxsize_; }
    bool empty() const noexcept { return store_.size() == 0; }
    bool full() const noexcept { return maxsize_ > 0 && store_.size() >= maxsize_; }

    // QueueFull when full.
    void put_nowait(T item) {
        if (full()) throw QueueFull();
        store_.push(std::move(item));
        ++unfinished_;
        finished_.clear();
        wake_next(getters_);
    }
    // QueueEmpty when empty.
    T get_nowait() {
        if (empty()) throw QueueEmpty();
        T item = store_.pop();
        wake_next(putters_);
        return item;
    }

    // Fast path inline; when it must wait, asyncio's loop runs as a child coroutine.
    class Put {
    public:
        Put(BasicQueue& q, T item) : q_(q), item_(std::move(item)) {}
        bool await_ready() {
            if (q_.full()) return false;
            q_.put_nowait(std::move(*item_));
            return true;
        }
        template <class P>
        void await_suspend(coroutine_handle<P> h) {
            slow_ = q_.put_slow(std::move(*item_));
            slow_.operator co_await().await_suspend(h);
        }
        void await_resume() {
            if (slow_) slow_.operator co_await().await_resume();
        }

    private:
        BasicQueue& q_;
        std::optional<T> item_;
        Coro<> slow_;
    };

    class Get {
    public:
        explicit Get(BasicQueue& q) noexcept : q_(q) {}
        bool await_ready() {
            if (q_.empty()) return false;
            value_.emplace(q_.get_nowait());
            return true;
        }
        template <class P>
        void await_suspend(coroutine_handle<P> h) {
            slow_ = q_.get_slow();
            slow_.operator co_await().await_suspend(h);
        }
        T await_resume() {
            if (slow_) return slow_.operator co_await().await_resume();
            return std::move(*value_);
        }

    private:
        BasicQueue& q_;
        std::optional<T> value_;
        Coro<T> slow_;
    };

    Put put(T item) { return Put(*this, std::move(item)); }
    Get get() noexcept { return Get(*this); }

    // An item taken with get() has been processed. ValueError when called more often than
    // items were put.
    void task_done() {
        if (unfinished_ == 0) throw_task_done_too_often();
        if (--unfinished_ == 0) finished_.set();
    }
    // Waits until every item put so far has been marked task_done().
    Event::Wait join() noexcept { return finished_.wait(); }

private:
    static void wake_next(WaiterList& waiters) noexcept {
        if (auto* w = waiters.pop_front()) w->wake();
    }

    Coro<> put_slow(T item) {
        while (full()) {
            Park putter(putters_);
            std::exception_ptr error;
            try {
                co_await putter;
            } catch (...) {
                error = std::current_exception();
            }
            if (error) {
                // The queue is gone (putter.orphaned()): touch nothing. Otherwise, woken for a
                // free slot but leaving: hand the wake-up to the next putter.
                if (!putter.orphaned() && !full() && putter.woken()) wake_next(putters_);
                std::rethrow_exception(error);
            }
        }
        put_nowait(std::move(item));
    }

    Coro<T> get_slow() {
        while (empty()) {
            Park getter(getters_);
            std::exception_ptr error;
            try {
                co_await getter;
            } catch (...) {
                error = std::current_exception();
            }
            if (error) {
                if (!getter.orphaned() && !empty() && getter.woken()) wake_next(getters_);
                std::rethrow_exception(error);
            }
        }
        co_return get_nowait();
    }

    Store store_;
    std::size_t maxsize_;
    std::size_t unfinished_ = 0;
    Event finished_;
    WaiterList getters_{"Queue"};
    WaiterList putters_{"Queue"};
};

}  // namespace detail

template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStore<T>> {
public:
    using detail::BasicQueue<T, detail::FifoStore<T>>::BasicQueue;
};

template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStore<T>> {
public:
    using detail::BasicQueue<T, detail::LifoStore<T>>::BasicQueue;
};

// Gets the smallest item first (by Compare), as asyncio.PriorityQueue.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::PriorityStore<T, Compare>> {
public:
    using detail::BasicQueue<T, detail::PriorityStore<T, Compare>>::BasicQueue;
};

}  // namespace corio
