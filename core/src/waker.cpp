// The out-of-line parts of the awaitable-writing kit: Hold and the callback boundary.
#include "corio/waker.hpp"

#include <fmt/format.h>

namespace corio {

Hold::Hold() : Hold(get_running_loop()) {}

Hold::Hold(EventLoop& loop) noexcept : loop_(&loop) { detail::core(loop).add_external_work(); }

void Hold::release() noexcept {
    EventLoop* loop = std::exchange(loop_, nullptr);
    if (!loop) return;
    detail::LoopCore& core = detail::core(*loop);
    if (core.on_loop_thread()) {
        core.remove_external_work();
        return;
    }
    try {
        loop->call_soon_threadsafe([loop] { detail::core(*loop).remove_external_work(); });
    } catch (...) {
        // The loop is closed: nothing waits for this hold any more.
    }
}

namespace detail {
void report_callback_error(EventLoop& loop, const char* where, std::exception_ptr e) noexcept {
    try {
        loop.call_exception_handler(ExceptionContext{fmt::format("Exception in callback {}", where), std::move(e), nullptr});
    } catch (...) {
    }
}
}  // namespace detail

}  // namespace corio
