// The portable worker pool behind to_thread where the backend has no pool of its own.
#include "corio/detail/thread_pool.hpp"

#include <algorithm>

#include "corio/event_loop.hpp"

namespace corio::detail {

ThreadPool::ThreadPool(EventLoop& loop)
    : loop_(loop), max_threads_(std::min<std::size_t>(32, std::max(1u, std::thread::hardware_concurrency()) + 4)) {}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void ThreadPool::submit(ThreadJob& job) {
    std::lock_guard lock(mutex_);
    jobs_.push_back(&job);
    if (idle_ == 0 && threads_.size() < max_threads_) {
        try {
            threads_.emplace_back([this] { work(); });
        } catch (...) {
            // No thread to run it (a build without threads): refuse the job, unless a
            // worker that exists will come for it.
            if (!threads_.empty()) return;
            jobs_.pop_back();
            throw;
        }
    } else {
        cv_.notify_one();
    }
}

void ThreadPool::work() {
    std::unique_lock lock(mutex_);
    for (;;) {
        ++idle_;
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        --idle_;
        if (jobs_.empty()) return;  // stopping, nothing left
        ThreadJob* job = jobs_.front();
        jobs_.pop_front();
        lock.unlock();
        job->run();
        EventLoop& loop = loop_;
        loop.call_soon_threadsafe([&loop, job] { core(loop).finish_thread_job(*job); });
        lock.lock();
    }
}

}  // namespace corio::detail
