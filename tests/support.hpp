// Helpers shared by the tests: the backend chosen on the command line, run() with it, and
// a capture of corio's log lines.
#pragma once

#include <corio/corio.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace corio_test {

std::string default_backend_name();
bool select_backend(const std::string& name);
const std::string& backend_name();
// A fresh backend of the selected kind (a backend serves one loop at a time).
std::shared_ptr<corio::Backend> make_backend();
// True under the virtual-time backend: time-based assertions can then be exact.
bool virtual_time();

corio::RunOptions options();

template <class T>
T run_test(corio::Coro<T> main) {
    return corio::run(std::move(main), options());
}

// Collects every line corio logs while alive (and restores stderr logging after).
class LogCapture {
public:
    LogCapture();
    ~LogCapture();
    std::vector<std::string> lines() const;
    // How many lines contain `needle`.
    std::size_t count(const std::string& needle) const;
    std::string joined() const;

private:
    struct State {
        mutable std::mutex mutex;
        std::vector<std::string> lines;
    };
    std::shared_ptr<State> state_;
};

}  // namespace corio_test
