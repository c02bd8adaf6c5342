// The backend selection and log capture behind support.hpp.
#include "support.hpp"

namespace corio_test {

namespace {
std::string g_backend;
}

std::string default_backend_name() {
#ifdef __EMSCRIPTEN__
    return "browser";
#else
    return "libuv";
#endif
}

bool select_backend(const std::string& name) {
#ifdef __EMSCRIPTEN__
    if (name != "browser" && name != "virtual_time") return false;
#else
    if (name != "libuv" && name != "virtual_time") return false;
#endif
    g_backend = name;
    return true;
}

const std::string& backend_name() { return g_backend; }

std::shared_ptr<corio::Backend> make_backend() {
    if (g_backend == "virtual_time") return corio::backends::virtual_time();
#ifdef __EMSCRIPTEN__
    return corio::backends::browser();
#else
    return corio::backends::libuv();
#endif
}

bool virtual_time() { return g_backend == "virtual_time"; }

corio::RunOptions options() {
    corio::RunOptions o;
    o.backend = make_backend();
    return o;
}

LogCapture::LogCapture() : state_(std::make_shared<State>()) {
    corio::set_log_handler([s = state_](std::string_view line) {
        std::lock_guard lock(s->mutex);
        s->lines.emplace_back(line);
    });
}

LogCapture::~LogCapture() { corio::set_log_handler({}); }

std::vector<std::string> LogCapture::lines() const {
    std::lock_guard lock(state_->mutex);
    return state_->lines;
}

std::size_t LogCapture::count(const std::string& needle) const {
    std::size_t n = 0;
    for (const auto& l : lines())
        if (l.find(needle) != std::string::npos) ++n;
    return n;
}

std::string LogCapture::joined() const {
    std::string out;
    for (const auto& l : lines()) out += l + "\n";
    return out;
}

}  // namespace corio_test
