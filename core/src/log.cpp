// The process-wide log handler (default: stderr). A mutex because loops on several threads
// may log at once.
#include "corio/log.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace corio {

namespace {
std::mutex& log_mutex() {
    static std::mutex m;
    return m;
}
LogHandler& handler() {
    static LogHandler h;
    return h;
}
}  // namespace

void set_log_handler(LogHandler h) {
    std::lock_guard lock(log_mutex());
    handler() = std::move(h);
}

namespace detail {
void log_line(std::string_view line) {
    std::lock_guard lock(log_mutex());
    if (handler()) {
        handler()(line);
        return;
    }
    std::string s(line);
    s += '\n';
    std::fwrite(s.data(), 1, s.size(), stderr);
    std::fflush(stderr);
}
}  // namespace detail

}  // namespace corio
