// corio::run's loop lifetime: refuse nesting, pick the backend and debug settings, run the
// main task, cancel leftovers, close.
#include "corio/run.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

namespace corio::detail {

namespace {
bool env_flag(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::strcmp(v, "0") != 0;
}
}  // namespace

Runner::Runner(RunOptions options) {
    if (running_loop()) throw RuntimeError("corio::run() cannot be called from a running event loop");
    if (!options.backend) throw ValueError("corio::run(): no backend given");
    std::shared_ptr<Backend> backend = std::move(options.backend);
    EventLoop::Options loop_options;
    loop_options.debug = options.debug || env_flag("CORIO_DEBUG");
    loop_options.slow_callback_duration = options.slow_callback_duration;
    loop_ = std::make_unique<EventLoop>(std::move(backend), loop_options);
    // Before main is created, so that its track is in the trace too.
    std::string trace = std::move(options.trace_path);
    if (trace.empty())
        if (const char* env = std::getenv("CORIO_TRACE")) trace = env;
    if (!trace.empty()) loop_->start_tracing(trace);
}

Runner::~Runner() { loop_->close(); }

void Runner::run(FutureBase& main) {
    loop_->run_until_complete(main);
    loop_->cancel_all_tasks();
    loop_->shutdown_asyncgens();
    loop_->wait_for_thread_jobs();
}

}  // namespace corio::detail
