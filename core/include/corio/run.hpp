// corio::run(main()): asyncio.run. A new loop on this thread runs `main` to completion,
// then cancels every task still pending and waits for them, then closes the loop; returns
// main's value or rethrows its exception.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "corio/backend.hpp"
#include "corio/coro.hpp"
#include "corio/event_loop.hpp"
#include "corio/task.hpp"

namespace corio {

struct RunOptions {
    bool debug = false;  // also on when CORIO_DEBUG=1 is set
    std::chrono::milliseconds slow_callback_duration{100};
    std::shared_ptr<Backend> backend;  // empty: the platform default
    std::string trace_path;            // also CORIO_TRACE=file.json
};

namespace detail {

// The platform's default backend (libuv natively, the browser's loop under Emscripten).
// Declared here and defined by the backends: only programs that call run() without a
// backend need one linked, so the core library links without any.
std::shared_ptr<Backend> default_backend();

class Runner {
public:
    // RuntimeError if a loop already runs on this thread; `options.backend` must be set.
    explicit Runner(RunOptions options);
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;
    EventLoop& loop() noexcept { return *loop_; }
    // Runs until `main` is done, then shuts down: leftover tasks are cancelled and awaited.
    void run(FutureBase& main);

private:
    std::unique_ptr<EventLoop> loop_;
};

}  // namespace detail

template <class T>
T run(Coro<T> main, RunOptions options = {}) {
    if (!options.backend) options.backend = detail::default_backend();
    detail::Runner runner(std::move(options));
    Task<T> task = runner.loop().create_task(std::move(main));
    runner.run(*task.base());
    return detail::take_task_result(task);
}

// corio::run([&]() -> Coro<int> { ... }): the callable lives until run() returns.
template <detail::coro_factory F>
auto run(F factory, RunOptions options = {}) {
    return run(detail::call_owned(std::move(factory)), std::move(options));
}

}  // namespace corio
