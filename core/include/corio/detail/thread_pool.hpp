// The loop's portable worker pool for to_thread where the backend has none of its own
// (virtual time, the browser): std::threads started on demand, up to asyncio's default of
// min(32, cores + 4), handing each finished job back through call_soon_threadsafe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "corio/backend.hpp"

namespace corio::detail {

class ThreadPool {
public:
    explicit ThreadPool(EventLoop& loop);
    ~ThreadPool();  // joins the workers (after their current jobs)
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    void submit(ThreadJob& job);

private:
    void work();
    EventLoop& loop_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<ThreadJob*> jobs_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    std::size_t max_threads_;
    bool stopping_ = false;
};

}  // namespace corio::detail
